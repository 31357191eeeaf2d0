"""Column mappings for the bulk importer: how a row of a file becomes an ingest Record.

A mapping file (YAML or JSON) names the payload kind and, for each Record field, where its
value comes from. Field paths are those of ingest.proto, relative to Record:

```yaml
kind: billing                      # payload kind of every row (or kind_column: <column>)
fields:
  source: {value: billing}         # a constant
  source_record_id: bill_id        # a column (shorthand for {column: bill_id})
  customer_id: account_no
  occurred_at: billed_at           # ISO 8601 (naive = UTC) or epoch seconds
  billing.month: month
  billing.fee_fen: fee_fen
  billing.product_line:            # a column with a value map
    column: product
    map: {语音: VOICE, 专线: DEDICATED_LINE}
  billing.payment_status: {column: status, default: PAID}
  service_event.survey_answers.q1: q1_score     # map entries: <map field>.<key>
  account.attributes.floor_space: {column: floor, type: number}   # string | number | bool
```

Values are converted by the target field's type: integers, decimals, booleans
(true/false/yes/no/1/0), enums by full name ("PRODUCT_LINE_VOICE"), short name ("voice",
"dedicated_line") or number, repeated fields split on "|". Numbers are written with ASCII
digits only ('１２３' in full-width digits, '1_000', 'nan' and 'inf' are not numbers, although
Python's int() and float() take them); integers must fit the field's type (int32 / int64)
and times lie within 1900-2200 (telco360_runtime.bounds); the record is then validated by
the service like any other. Empty cells leave the field
unset. `source`, `source_record_id` and `customer_id` must be mapped, so a re-run of the
same file finds the same records (duplicates, not new records).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from telco360.ingest.v1 import ingest_pb2
from telco360_imports.values import DECIMAL_TEXT_MAX, KINDS, ascii_decimal
from telco360_runtime import bounds
from telco360_runtime.bounds import OUT_OF_RANGE, UNKNOWN_ENUM, preview

__all__ = [
    "DECIMAL_TEXT_MAX",
    "KINDS",
    "FieldRule",
    "Mapping",
    "MappingError",
    "RowError",
    "ascii_decimal",
    "load_mapping",
    "parse_mapping",
    "row_to_record",
]

REQUIRED_PATHS = ("source", "source_record_id", "customer_id")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_INTS = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
_INT_RANGE = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


class MappingError(ValueError):
    """The mapping file itself is wrong (reported before any row is read)."""


class RowError(ValueError):
    """A row cannot be turned into a record; `field` names the record field."""

    def __init__(self, field_path: str, description: str, reason: str = "INVALID_FORMAT") -> None:
        super().__init__(f"{field_path}: {description}")
        self.field = field_path
        self.description = description
        self.reason = reason


@dataclass(frozen=True)
class FieldRule:
    """Where one record field's value comes from."""

    path: str
    column: str | None = None
    value: Any = None
    default: Any = None
    value_map: dict[str, Any] = field(default_factory=dict)
    type: str = "string"
    """Value type of an `attributes` entry: string, number or bool."""


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    kind: str | None
    kind_column: str | None
    rules: tuple[FieldRule, ...]


def load_mapping(path: pathlib.Path) -> Mapping:
    """Read and check a YAML or JSON mapping file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    return parse_mapping(data)


def parse_mapping(data: Any) -> Mapping:
    """Check a mapping given as a dict (see the module docstring)."""
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise MappingError("a mapping needs a 'fields' table")
    kind, kind_column = data.get("kind"), data.get("kind_column")
    if (kind is None) == (kind_column is None):
        raise MappingError("give exactly one of 'kind' and 'kind_column'")
    if kind is not None and kind not in KINDS:
        raise MappingError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    rules = []
    for path, spec in data["fields"].items():
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict) or ("column" not in spec and "value" not in spec):
            raise MappingError(f"field {path!r}: give a column name, {{column: ...}} or {{value: ...}}")
        _resolve(path)  # fails early on paths the contract does not have
        rules.append(
            FieldRule(
                path=path,
                column=spec.get("column"),
                value=spec.get("value"),
                default=spec.get("default"),
                value_map=dict(spec.get("map") or {}),
                type=spec.get("type", "string"),
            )
        )
    mapped = {r.path for r in rules}
    missing = [p for p in REQUIRED_PATHS if p not in mapped]
    if missing:
        raise MappingError(f"fields {missing} must be mapped (they identify each record)")
    return Mapping(kind=kind, kind_column=kind_column, rules=tuple(rules))


def _resolve(path: str) -> tuple[list[str], FieldDescriptor, str | None]:
    """Descriptor of a field path; for map entries also the key."""
    parts = path.split(".")
    descriptor = cast(Descriptor, ingest_pb2.Record.DESCRIPTOR)
    names: list[str] = []
    for i, part in enumerate(parts):
        fd = descriptor.fields_by_name.get(part)
        if fd is None:
            raise MappingError(f"unknown field {path!r}")
        names.append(part)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            if i != len(parts) - 2:
                raise MappingError(f"{path!r}: name one map key, e.g. {'.'.join(names)}.<key>")
            return names, fd, parts[-1]
        if (
            fd.message_type is not None
            and fd.message_type.full_name != "google.protobuf.Timestamp"
            and i < len(parts) - 1
        ):
            descriptor = fd.message_type
            continue
        if i != len(parts) - 1:
            raise MappingError(f"unknown field {path!r}")
        return names, fd, None
    raise MappingError(f"{path!r} names a message, not a field")


def _enum(fd: FieldDescriptor, text: str, path: str) -> str:
    enum = fd.enum_type
    assert enum is not None  # _scalar calls this for enum fields only
    number = ascii_decimal(text)
    if number is not None:
        value = enum.values_by_number.get(int(number)) if number == number.to_integral_value() else None
        if value is None:
            raise RowError(path, f"unknown {enum.name} number {preview(text)}", UNKNOWN_ENUM)
        return value.name
    upper = text.strip().upper().replace(" ", "_").replace("-", "_")
    if upper in enum.values_by_name:
        return upper
    prefix = enum.values[0].name.rsplit("_UNSPECIFIED", 1)[0]
    candidate = f"{prefix}_{upper}"
    if candidate in enum.values_by_name:
        return candidate
    raise RowError(path, f"unknown {enum.name} value {preview(text)}", UNKNOWN_ENUM)


def _timestamp(text: str, path: str) -> dict[str, int]:
    number = ascii_decimal(text)
    if number is None:
        try:
            if not text.isascii():
                raise ValueError(text)  # fromisoformat's digits are ASCII, but say so here
            when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise RowError(path, f"not an ISO 8601 time or epoch seconds: {preview(text)}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        number = Decimal(int(when.timestamp() * 1_000_000)) / 1_000_000
    if not bounds.EARLIEST_SECONDS <= number < bounds.LATEST_SECONDS:
        raise RowError(
            path,
            f"must be between {bounds.EARLIEST_TIME:%Y-%m-%d} and "
            f"{bounds.LATEST_TIME:%Y-%m-%d} UTC (got {preview(text)})",
            OUT_OF_RANGE,
        )
    whole = math.floor(number)  # floor, not Decimal's // (toward zero): nanos >= 0
    nanos = int((number - whole) * 1_000_000_000)
    return {"seconds": whole, "nanos": nanos} if nanos else {"seconds": whole}


def _scalar(fd: FieldDescriptor, text: str, path: str) -> Any:
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return _enum(fd, text, path)
    if fd.type in _INTS:
        number = ascii_decimal(text)
        if number is None or number != number.to_integral_value():
            raise RowError(path, f"not a whole number: {preview(text)}")
        lo, hi = _INT_RANGE[fd.type]
        if not lo <= number <= hi:
            raise RowError(path, f"must be between {lo} and {hi} (got {preview(text)})", OUT_OF_RANGE)
        return int(number)
    if fd.type in _FLOATS:
        return _scalar_float(text, path)
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return _bool(text, path)
    return text


def _bool(text: str, path: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RowError(path, f"not a boolean: {preview(text)}")


def _cell(rule: FieldRule, row: dict[str, Any]) -> Any:
    if rule.column is None:
        value = rule.value
    else:
        value = row.get(rule.column)
        if value is None or (isinstance(value, str) and not value.strip()):
            value = rule.default
    if value is None:
        return None
    text = str(value).strip() if not isinstance(value, (bool, int, float)) else value
    if isinstance(text, str) and text in rule.value_map:
        return rule.value_map[text]
    return text


def row_to_record(mapping: Mapping, row: dict[str, Any]) -> ingest_pb2.Record:
    """The Record for one row; raises RowError naming the field that cannot be converted."""
    kind = mapping.kind or str(row.get(mapping.kind_column or "", "")).strip()
    if kind not in KINDS:
        raise RowError("payload", f"unknown record kind {kind!r}")
    out: dict[str, Any] = {kind: {}}
    for rule in mapping.rules:
        names, fd, key = _resolve(rule.path)
        if names[0] in KINDS and names[0] != kind:
            continue  # a mapping may serve several kinds through kind_column
        value = _cell(rule, row)
        if value is None:
            continue
        target = out
        for name in names[:-1]:
            target = target.setdefault(name, {})
        last = names[-1]
        if key is not None:
            assert fd.message_type is not None  # a map field (see _resolve)
            value_fd = fd.message_type.fields_by_name["value"]
            if value_fd.message_type is not None:  # attributes: typed AttributeValue
                entry: dict[str, Callable[..., dict[str, object]]] = {
                    "string": lambda v: {"string_value": str(v)},
                    "number": lambda v, path=rule.path: {"number_value": float(_scalar_float(v, path))},
                    "bool": lambda v, path=rule.path: {"bool_value": _bool(str(v), path)},
                }
                if rule.type not in entry:
                    raise RowError(rule.path, f"unknown attribute type {rule.type!r}")
                target.setdefault(last, {})[key] = entry[rule.type](value)
            else:
                target.setdefault(last, {})[key] = _scalar(value_fd, str(value), rule.path)
        elif fd.message_type is not None:  # Timestamp
            target[last] = _timestamp(str(value), rule.path)
        elif fd.is_repeated:
            target[last] = [_scalar(fd, part.strip(), rule.path) for part in str(value).split("|") if part.strip()]
        else:
            target[last] = _scalar(fd, str(value), rule.path)
    try:
        return ingest_pb2.Record(**out)
    except (ValueError, TypeError) as error:  # e.g. a map key the contract refuses
        raise RowError("payload", bounds.preview(str(error), 200)) from None


def _scalar_float(value: Any, path: str) -> float:
    """A decimal from a cell: a JSON number as is, text with ASCII digits only.

    A number too large for a double becomes infinite and is rejected by validation as
    NOT_FINITE, naming the field.
    """
    if isinstance(value, bool):
        raise RowError(path, f"not a number: {preview(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    number = ascii_decimal(str(value))
    if number is None:
        raise RowError(path, f"not a number: {preview(value)}")
    return float(number)
