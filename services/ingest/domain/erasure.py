"""Erasure and retention rules of ingest (domain layer, issue #15): which record fields are
personal, how a payload is blanked, what a later record of an erased account gets.

Blanking keeps what aggregates and the log's order need (ids, kinds, amounts, counts,
dates, months, enums, sequence numbers and versions) and drops every value that names or
describes a person or the organisation's people: the fields the masking policy treats as
personal (telco360_runtime.masking: account and contact names, phones, e-mails, notes,
personal attributes) plus the free texts that may carry them. A blanked field is left out
of the payload, as a default value is in the canonical form (domain/records.py), so a
blanked payload reads back as a record with those fields unset.

Later records of an erased account are refused (status REFUSED, answered as REJECTED with a
NOT_ALLOWED violation on `customer_id` and no quarantine id), never accepted blanked:
- nothing of them is stored anywhere (log, records, quarantine), so no personal value and
  no digest of one can come back through a replay, a re-send or a rebuild;
- the sender learns at once that its source still holds an erased account (it has to erase
  it there too), where a silent blank-accept would hide that;
- a blanked entry would carry only facts of an account no consumer may use (profile ignores
  an erased account's later entries), so accepting it buys nothing;
- a legitimate return is an explicit reactivation (LiftErasure), after which the source
  re-sends what it has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.ingest.domain.hashing import canonical_json, load_record
from services.ingest.domain.records import Record, record_kind
from services.ingest.domain.violations import Violation
from telco360_runtime import bounds, reasons
from telco360_runtime.errors import FailedPrecondition, ViolationCollector

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    # name: ACCOUNT_NAME; credit_code identifies the organisation outside the suite (the
    # customer_id stays: it is the suite's own id, needed by the log's consumers).
    "account": ("name", "credit_code"),
    # name: CONTACT_NAME, phone: PHONE, email: EMAIL; role and preferred hours describe the
    # person. person_id and level stay (ids and the decision-maker counts).
    "contact": ("name", "phone", "email", "role", "preferred_hours"),
    "service_event": ("summary",),  # NOTES
    "interaction": ("notes",),  # NOTES
    "opportunity": ("need",),  # free text about the account's people and plans
    "lifecycle": ("detail",),  # free text
    # Amounts, month, line, type and reference stay for margin aggregates; the note is free
    # text an allocator may have written a person's name into.
    "cost": ("note",),
}
"""Payload fields blanked by an erasure or by log payload retention, per kind. Kinds not
named (billing, subscription, competitor) carry no personal field."""

PERSONAL_ATTRIBUTE_NAMES = frozenset(
    {
        "name_en",
        "legal_representative",
        "contact_name",
        "contact_phone",
        "contact_email",
        "phone",
        "email",
        "address",
        "id_number",
    }
)
"""Operator attributes dropped whatever their type (profile's default `personal_attributes`).
Every text attribute is dropped too: ingest does not know which ones profile treats as
personal (the masking of the log masks them all the same way); numbers and flags not named
here stay (campus counts, state ownership)."""

CHUNK = 500
"""Log or quarantine rows an erasure or a retention round reads and rewrites per statement
(bounds memory for accounts with long histories and transactions of retention work)."""

REFUSED = "REFUSED"
"""The outcome of a record of an erased account: not stored anywhere (see module docstring)."""

REFUSAL = Violation(
    "customer_id",
    "the account is erased: its records are not accepted (nothing was stored) until it is reactivated",
    reasons.NOT_ALLOWED,
)
"""The one violation a refused record is answered with."""


class AccountErased(FailedPrecondition):
    """SubmitRecord of a record of an erased account (FAILED_PRECONDITION, reason NOT_ALLOWED)."""

    reason = reasons.NOT_ALLOWED


def blank_record(record: Record) -> Record:
    """A copy of a record (domain dict) without its personal fields; other fields untouched."""
    kind = record_kind(record)
    if kind is None:
        return dict(record)
    payload = record.get(kind)
    if not isinstance(payload, dict):
        return dict(record)
    kept: dict[str, Any] = {k: v for k, v in payload.items() if k not in PERSONAL_FIELDS.get(kind, ())}
    attributes = kept.get("attributes")
    if kind == "account" and isinstance(attributes, dict):
        left = {
            name: value
            for name, value in attributes.items()
            if name not in PERSONAL_ATTRIBUTE_NAMES and not (isinstance(value, dict) and "string_value" in value)
        }
        if left:
            kept["attributes"] = left
        else:
            kept.pop("attributes")
    out = dict(record)
    out[kind] = kept
    return out


def blank_payload(canonical: str) -> str:
    """A stored log payload (canonical JSON) without its personal fields, canonical again.

    Answers the text unchanged when there is nothing to blank, so a caller can count what
    changed by comparing.
    """
    blanked = canonical_json(blank_record(load_record(canonical)))
    return canonical if blanked == canonical else blanked


def refusal_key(customer_id: str) -> str:
    """The account id a record is refused by: as validation normalises it (trimmed), so a
    rejected record with a padded id of an erased account is refused too."""
    return customer_id.strip()


@dataclass(frozen=True)
class Erasure:
    """An account's erasure as this service applied it (the tombstone)."""

    customer_id: str
    erasure_id: str
    erased_at: dt.datetime
    removed: dict[str, int] = field(default_factory=dict)
    """Item kind -> number blanked or deleted: log_payloads (payloads that had personal
    fields), log_entries (entries marked erased), record_hashes (latest-version digests
    recomputed from the blanked payloads), quarantine_entries (deleted)."""
    repeated: bool = False
    """True when the erasure was there already (the stored result is answered)."""


@dataclass(frozen=True)
class RetentionReport:
    """What one retention round did."""

    quarantine_deleted: int = 0
    log_entries_scanned: int = 0
    log_payloads_blanked: int = 0


def cutoff_us(now: float, days: int) -> int | None:
    """Microseconds before which data is past a retention of `days` (None: keep, days <= 0)."""
    if days <= 0:
        return None
    return int((now - days * 86_400) * 1_000_000)


def check_apply_request(erasure_id: str, customer_id: str) -> None:
    """ApplyErasure's request: both ids required, within the suite's id bound."""
    out = ViolationCollector()
    bounds.check_text(out, "erasure_id", erasure_id, max_len=bounds.ID_MAX, required=True)
    bounds.check_text(out, "customer_id", customer_id, max_len=bounds.ID_MAX, required=True)
    out.raise_if_any()


def check_lift_request(customer_id: str, reason: str) -> None:
    """LiftErasure's request: the account and a reason are required."""
    out = ViolationCollector()
    bounds.check_text(out, "customer_id", customer_id, max_len=bounds.ID_MAX, required=True)
    bounds.check_text(out, "reason", reason, max_len=bounds.SHORT_TEXT_MAX, required=True)
    out.raise_if_any()
