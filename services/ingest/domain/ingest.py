"""The ingest rules in plain Python (domain layer): prepare a batch, decide each record's fate.

`prepare` turns raw records into `Prepared` items (normalised, serialised once, hashed);
the store applies a whole batch in one transaction and answers one `Outcome` per item
(usecases/ingest_records.py joins the two). Keeping the decision rules here (what is a
duplicate, a correction, a rejection) and the SQL in the store lets both be tested on their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ingest.domain import limits
from services.ingest.domain.hashing import canonical_json, payload_hash
from services.ingest.domain.records import Record, record_kind
from services.ingest.domain.validate import validate_record
from services.ingest.domain.violations import Normalisation, Violation

ACCEPTED = "ACCEPTED"
DUPLICATE = "DUPLICATE"
CORRECTED = "CORRECTED"
REJECTED = "REJECTED"

# Quarantine keeps the record exactly as received, including values JSON cannot carry
# strictly (NaN usage figures are a classic rejection), so this encoder allows them.
_RAW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(slots=True)
class Prepared:
    """One record ready for the store: normalised and hashed, or rejected with reasons."""

    source: str
    source_record_id: str
    customer_id: str
    kind: str | None
    occurred_at_us: int
    canonical: str | None
    """Canonical JSON of the normalised record (None when rejected)."""
    digest: str | None
    """Payload hash of `canonical` (None when rejected)."""
    raw_json: str | None = None
    """The record as received, for the quarantine (rejected records only)."""
    raw_digest: str | None = None
    violations: list[Violation] = field(default_factory=list)
    normalisations: list[Normalisation] = field(default_factory=list)
    quarantine_id: int | None = None
    """Set on replays: the quarantine entry this record resolves or updates."""


@dataclass(slots=True)
class Outcome:
    """What the store did with one prepared record."""

    status: str
    sequence: int = 0
    version: int = 0
    quarantine_id: int | None = None


def _cut(value: Any, text_keep: int) -> Any:
    """`value` with texts, lists and maps over the quarantine's keep sizes cut down."""
    if isinstance(value, str):
        return value[:text_keep] if len(value) > text_keep else value
    item_keep = limits.QUARANTINE_ITEM_TEXT_KEEP
    if isinstance(value, list):
        return [_cut(v, item_keep) for v in value[: limits.QUARANTINE_ITEMS_KEEP]]
    if isinstance(value, dict):
        items = list(value.items())
        if len(items) > limits.QUARANTINE_ITEMS_KEEP:
            items = sorted(items, key=lambda kv: str(kv[0]))[: limits.QUARANTINE_ITEMS_KEEP]
        return {(_cut(k, item_keep) if isinstance(k, str) else k): _cut(v, item_keep) for k, v in items}
    return value


def quarantine_copy(raw: Record) -> Record:
    """What the quarantine keeps of a rejected record (see limits.QUARANTINE_TEXT_KEEP).

    The record and its payload keep their fields; only values over every limit of their
    kind are cut, to one character or entry over it, so that a replay as stored fails the
    same check and a listing of rejected records stays within its page bytes.
    """
    text_keep = limits.QUARANTINE_TEXT_KEEP
    out: Record = {}
    for name, value in raw.items():
        if isinstance(value, dict) and name != "occurred_at":  # the payload
            out[name] = {k: _cut(v, text_keep) for k, v in value.items()}
        else:
            out[name] = _cut(value, text_keep)
    return out


def decide(latest_digest: str | None, digest: str) -> str:
    """ACCEPTED for a new key, DUPLICATE for the same payload, CORRECTED otherwise."""
    if latest_digest is None:
        return ACCEPTED
    return DUPLICATE if latest_digest == digest else CORRECTED


def prepare_one(raw: Record, now: float, quarantine_id: int | None = None) -> Prepared:
    """Validate, normalise, serialise and hash one raw record."""
    checked = validate_record(raw, now)
    if checked.record is not None:
        record = checked.record
        canonical = canonical_json(record)
        stamp = record["occurred_at"]
        return Prepared(
            source=record["source"],
            source_record_id=record["source_record_id"],
            customer_id=record["customer_id"],
            kind=record_kind(record),
            occurred_at_us=stamp["seconds"] * 1_000_000 + stamp.get("nanos", 0) // 1000,
            canonical=canonical,
            digest=payload_hash(canonical),
            normalisations=checked.normalisations,
            quarantine_id=quarantine_id,
        )
    # The digest is of the full record (a re-sent bad record is found again), the stored
    # JSON of the cut copy (see quarantine_copy).
    raw_digest = payload_hash(_RAW_ENCODER.encode(raw))
    raw_json = _RAW_ENCODER.encode(quarantine_copy(raw))
    return Prepared(
        source=str(raw.get("source", ""))[:256],
        source_record_id=str(raw.get("source_record_id", ""))[:256],
        customer_id=str(raw.get("customer_id", ""))[:256],
        kind=record_kind(raw),
        occurred_at_us=0,  # not stored for rejected records, and possibly out of any range
        canonical=None,
        digest=None,
        raw_json=raw_json,
        raw_digest=raw_digest,
        violations=checked.violations,
        normalisations=checked.normalisations,
        quarantine_id=quarantine_id,
    )


def prepare(
    raws: Sequence[Record],
    now: float | None = None,
    quarantine_ids: Sequence[int | None] | None = None,
) -> list[Prepared]:
    """Prepare a batch against one clock reading (all records judged at the same instant).

    `quarantine_ids`, on replays, names the quarantine entry each record comes from.
    """
    if now is None:
        now = time.time()
    if quarantine_ids is None:
        return [prepare_one(raw, now) for raw in raws]
    return [prepare_one(raw, now, qid) for raw, qid in zip(raws, quarantine_ids, strict=True)]
