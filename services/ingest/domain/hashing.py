"""Canonical serialisation of a normalised record, and its payload hash.

The same serialisation is stored in the log and hashed, so a record is serialised once on
the hot path. It is canonical: keys sorted, no insignificant whitespace, UTF-8, defaults
left out (records.py), so equal records give equal bytes whatever order fields arrived in
and whichever contract version produced them. The hash decides duplicate vs correction.
"""

from __future__ import annotations

import hashlib
import json

from services.ingest.domain.records import Record

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(record: Record) -> str:
    """The canonical JSON text of a record."""
    return _ENCODER.encode(record)


def payload_hash(canonical: str) -> str:
    """Hex SHA-256 of a canonical JSON text (64 characters)."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_record(canonical: str) -> Record:
    """A record back from its canonical JSON text."""
    return json.loads(canonical)
