"""The record shapes the domain works on (domain layer): plain dicts that mirror the protobuf contract.

A record is a dict with the keys of `telco360.ingest.v1.Record`: "source",
"source_record_id", "customer_id", "occurred_at" ({"seconds": s, "nanos": n}) and exactly
one payload key from KINDS (shared with the importer: telco360_imports.values) whose value
is a dict of that message's fields. Enum values are
their names ("PRODUCT_LINE_VOICE"); an enum number the contract does not know stays an int
(and is rejected). Fields holding their default value are left out, as in proto3 JSON,
so that the canonical form of a record does not change when the contract gains a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.ingest.domain.violations import Normalisation, Violation
from telco360_imports.values import KINDS

Record = dict[str, Any]


# Enum names the validators give meaning to (a contract test checks they exist).
PAYMENT_OVERDUE = "PAYMENT_STATUS_OVERDUE"
PAYMENT_WRITTEN_OFF = "PAYMENT_STATUS_WRITTEN_OFF"
SURVEY = "SERVICE_EVENT_TYPE_SATISFACTION_SURVEY"
TERMINATED = "LIFECYCLE_ACTION_TERMINATED"


def record_kind(record: Record) -> str | None:
    """The payload kind of a record, None when it has none."""
    for kind in KINDS:
        if kind in record:
            return kind
    return None


def record_key(record: Record) -> tuple[str, str]:
    """(source, source_record_id): the identity of a record."""
    return record.get("source", ""), record.get("source_record_id", "")


@dataclass(slots=True)
class Checked:
    """A record after validation: either normalised (record set) or rejected (violations)."""

    raw: Record
    """The record as received."""
    record: Record | None
    """The normalised record; None when rejected."""
    violations: list[Violation] = field(default_factory=list)
    normalisations: list[Normalisation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the record passed validation."""
        return self.record is not None
