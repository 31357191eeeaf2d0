"""What the ingest store holds and answers, as plain values: log items, quarantine entries, the
quarantine filter and the summary counts (domain layer; store/queries.py reads them, the use
cases pass them on, api/converters.py turns them into messages)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class LogItem:
    """One log entry as stored: the payload is canonical JSON of the normalised record."""

    sequence: int
    version: int
    ingested_at_us: int
    payload: str
    erased: bool = False
    """The record's account was erased: the payload's personal fields are blanked."""


@dataclass(slots=True, frozen=True)
class Stats:
    """Summary counts of the store."""

    records: int
    log_entries: int
    quarantined: int
    last_sequence: int
    customers: int


@dataclass(slots=True, frozen=True)
class QuarantineFilter:
    """Which quarantine entries a listing or a replay concerns."""

    source: str = ""
    reason: str = ""
    """A reason code or a field path; matches entries with such a violation."""
    received_after_us: int | None = None
    received_before_us: int | None = None
    include_resolved: bool = False


@dataclass(slots=True, frozen=True)
class QuarantineItem:
    """A quarantine entry as stored."""

    id: int
    record: str
    """The record as received (JSON of the domain dict)."""
    violations: list[tuple[str, str, str]]
    received_at_us: int
    resolved: bool
    resolved_sequence: int
