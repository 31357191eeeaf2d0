"""Conversion of ingest log entries (protobuf) into the domain's LogRecord.

Payloads become plain dicts: enums as numbers, months as strings, attribute values as
Python str/float/bool, maps as dicts, repeated fields as lists. Billing, the bulk of the
log, is converted field by field for speed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.message import Message

from services.profile.domain.model import LogRecord
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2

UTC = dt.UTC
_KINDS = {
    "account": "account",
    "contact": "contact",
    "billing": "billing",
    "subscription": "subscription",
    "service_event": "service_event",
    "interaction": "interaction",
    "competitor": "competitor",
    "opportunity": "opportunity",
    "lifecycle": "lifecycle",
}


def attribute_value(value: common_pb2.AttributeValue) -> Any:
    """A Python value from an AttributeValue (None when unset)."""
    kind = value.WhichOneof("kind")
    return None if kind is None else getattr(value, kind)


def _message_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            if value_fd.message_type is not None:
                out[fd.name] = {k: attribute_value(v) for k, v in value.items()}
            else:
                out[fd.name] = dict(value)
        elif fd.is_repeated:
            out[fd.name] = list(value)
        else:
            out[fd.name] = value
    return out


def _ts(seconds: int, nanos: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds + nanos / 1e9, UTC)


def record_payload(record: ingest_pb2.Record) -> tuple[str, dict[str, Any]]:
    """(kind, payload dict) of a record."""
    which = record.WhichOneof("payload")
    if which is None:
        raise ValueError("record has no payload")
    if which == "billing":
        b = record.billing
        return "billing", {
            "month": b.month,
            "product_line": b.product_line,
            "fee_fen": b.fee_fen,
            "usage_quantity": b.usage_quantity,
            "usage_unit": b.usage_unit,
            "lines": b.lines,
            "payment_status": b.payment_status,
            "days_overdue": b.days_overdue,
        }
    return _KINDS[which], _message_dict(getattr(record, which))


def log_entry_to_record(entry: ingest_pb2.LogEntry, *, first_versions_known_when_occurred: bool = True) -> LogRecord:
    """The domain form of one log entry.

    The record's `ingested_at` here is when the suite counts the fact as *known*, which is
    what point-in-time features filter on. Corrections are known from when ingest stored
    them (a later fix never leaks into an earlier view). First versions are, by default,
    known from when they occurred: operators load years of history in bulk on day one, and
    with the ingestion time every past view would be empty. Set the profile setting
    `first_versions_known_when_occurred=false` to count strictly by ingestion time.
    """
    r = entry.record
    kind, payload = record_payload(r)
    occurred = _ts(r.occurred_at.seconds, r.occurred_at.nanos)
    ingested = _ts(entry.ingested_at.seconds, entry.ingested_at.nanos)
    version = entry.version or 1
    known = min(occurred, ingested) if version == 1 and first_versions_known_when_occurred else ingested
    return LogRecord(
        entry.sequence, r.source, r.source_record_id, version, r.customer_id, occurred, known, kind, payload
    )
