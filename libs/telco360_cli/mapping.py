"""Reading records from files: protobuf JSON lines, or CSV with a TOML column mapping.

A `.jsonl` file holds one `telco360.ingest.v1.Record` per line in protobuf's JSON form
(`{"source": "crm", "sourceRecordId": "...", "customerId": "...", "occurredAt": "...",
"billing": {...}}`). A CSV file needs a mapping (TOML) naming the record kind and which
column feeds which field:

    source = "billing"                 # the source system of every row
    kind = "billing"                   # account, contact, billing, subscription, service_event,
                                       # interaction, competitor, opportunity, lifecycle
    source_record_id = "{customer}-{month}-{line}"   # a column name or a {column} template
    customer_id = "customer"           # column with the account id
    occurred_at = "bill_date"          # column: ISO date/time, YYYY-MM-DD or YYYY-MM

    [fields]                           # payload field -> column (or a table with options)
    month = "month"
    product_line = "line"              # enum columns take short names: voice, cloud, ...
    fee_fen = { column = "fee_yuan", scale = 100 }   # multiply, then round to an integer
    "attributes.sector" = "sector"     # operator attributes of account master data

    [constants]                        # payload fields set to the same value on every row
    usage_unit = "GB"

Repeated fields take comma-separated values. Empty cells leave a field unset (the server
then says whether it was required).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import pathlib
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Iterator

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2

from telco360_cli import fmt
from telco360_cli.errors import CliError
from telco360_runtime.timeconv import to_timestamp

KINDS = ("account", "contact", "billing", "subscription", "service_event", "interaction", "competitor",
         "opportunity", "lifecycle")
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


@dataclass
class ColumnRule:
    """How one payload field is filled from a row."""

    column: str
    scale: float | None = None


@dataclass
class Mapping:
    """A parsed CSV mapping."""

    source: str
    kind: str
    source_record_id: str
    customer_id: str
    occurred_at: str
    fields: dict[str, ColumnRule] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)


def load_mapping(path: pathlib.Path) -> Mapping:
    """Parse and check a TOML mapping file."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"{path}: not valid TOML: {error}") from None
    missing = [k for k in ("source", "kind", "source_record_id", "customer_id", "occurred_at") if not data.get(k)]
    if missing:
        raise CliError(f"{path}: mapping lacks {', '.join(missing)}")
    if data["kind"] not in KINDS:
        raise CliError(f"{path}: kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    rules: dict[str, ColumnRule] = {}
    for name, rule in (data.get("fields") or {}).items():
        if isinstance(rule, str):
            rules[name] = ColumnRule(rule)
        elif isinstance(rule, dict) and rule.get("column"):
            rules[name] = ColumnRule(rule["column"], rule.get("scale"))
        else:
            raise CliError(f"{path}: fields.{name} must be a column name or {{ column = ..., scale = ... }}")
    return Mapping(data["source"], data["kind"], data["source_record_id"], data["customer_id"], data["occurred_at"],
                   rules, dict(data.get("constants") or {}))


def _cell(row: dict[str, str], spec: str) -> str:
    if "{" in spec:
        return _TEMPLATE.sub(lambda m: row.get(m.group(1), ""), spec)
    if spec not in row:
        raise CliError(f"column {spec!r} is not in the file (columns: {', '.join(row)})")
    return row[spec]


def _set_field(message: Any, name: str, raw: Any, scale: float | None = None) -> None:
    """Set a (possibly repeated or attribute) field of a payload from text or a constant."""
    if raw is None or raw == "":
        return
    if name.startswith("attributes."):
        key = name.split(".", 1)[1]
        value = common_pb2.AttributeValue()
        if isinstance(raw, bool) or str(raw).lower() in ("true", "false"):
            value.bool_value = raw if isinstance(raw, bool) else str(raw).lower() == "true"
        else:
            try:
                value.number_value = float(raw)
            except ValueError:
                value.string_value = str(raw)
        message.attributes[key].CopyFrom(value)
        return
    descriptor = message.DESCRIPTOR.fields_by_name.get(name)
    if descriptor is None:
        raise CliError(f"{message.DESCRIPTOR.name} has no field {name!r}")
    repeated = descriptor.label == FieldDescriptor.LABEL_REPEATED
    parts = [p.strip() for p in str(raw).split(",")] if repeated and isinstance(raw, str) else \
        (raw if isinstance(raw, list) else [raw])
    values = [_convert(descriptor, part, scale) for part in parts if part != ""]
    if repeated:
        getattr(message, name).extend(values)
    else:
        setattr(message, name, values[0])


def _convert(descriptor: FieldDescriptor, raw: Any, scale: float | None) -> Any:
    kind = descriptor.type
    if kind == FieldDescriptor.TYPE_ENUM:
        return raw if isinstance(raw, int) else fmt.enum_value(descriptor.enum_type, str(raw))
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
        number = float(raw) * (scale or 1)
        return int(round(number))
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(raw) * (scale or 1)
    if kind == FieldDescriptor.TYPE_BOOL:
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes", "y")
    return str(raw)


def parse_when(text: str) -> dt.datetime:
    """occurred_at from a cell: ISO timestamp, date, or month (first day, UTC)."""
    try:
        return fmt.parse_time(text)
    except ValueError:
        raise CliError(f"occurred_at {text!r} is not a date, time or YYYY-MM month") from None


def csv_records(path: pathlib.Path, mapping: Mapping) -> Iterator[ingest_pb2.Record]:
    """Records built from a CSV file with a mapping, one per row."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            record = ingest_pb2.Record(source=mapping.source,
                                       source_record_id=_cell(row, mapping.source_record_id),
                                       customer_id=_cell(row, mapping.customer_id))
            when = _cell(row, mapping.occurred_at)
            if when:
                record.occurred_at.CopyFrom(to_timestamp(parse_when(when)))
            payload = getattr(record, mapping.kind)
            payload.SetInParent()
            for name, value in mapping.constants.items():
                _set_field(payload, name, value)
            for name, rule in mapping.fields.items():
                try:
                    _set_field(payload, name, _cell(row, rule.column), rule.scale)
                except ValueError as error:
                    # A bad cell is sent as-is where possible, so the server quarantines the
                    # record with its precise reason; unconvertible cells are reported here.
                    raise CliError(f"{path} row {record.source_record_id}: {name}: {error}") from None
            yield record


def jsonl_records(path: pathlib.Path) -> Iterator[ingest_pb2.Record]:
    """Records from a protobuf-JSON lines file."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json_format.Parse(line, ingest_pb2.Record())
            except (json_format.ParseError, json.JSONDecodeError) as error:
                raise CliError(f"{path}:{number}: not a Record in protobuf JSON: {error}") from None


def count_rows(path: pathlib.Path) -> int:
    """Number of data rows (lines for JSONL, minus the header for CSV)."""
    with open(path, "rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(0, lines - 1) if path.suffix.lower() == ".csv" else lines


def read_records(path: pathlib.Path, mapping_path: pathlib.Path | None) -> Iterator[ingest_pb2.Record]:
    """Records from a file, by its extension."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return jsonl_records(path)
    if suffix == ".csv":
        if mapping_path is None:
            raise CliError(f"{path}: a CSV file needs --mapping (see `telco360 import --help`)")
        return csv_records(path, load_mapping(mapping_path))
    raise CliError(f"{path}: unknown format {suffix!r}; use .jsonl (protobuf JSON records) or .csv with --mapping")
