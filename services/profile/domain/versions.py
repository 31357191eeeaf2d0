"""Domain: which version of a source record wins, and which log entries are skipped (pure rules).

Every record is keyed by (source, source_record_id). A log entry is skipped when its
sequence was already applied (redelivery), when its account was erased (an entry that
ingest marks erased erases an account profile does not know as erased), or when its
version is not newer than the one the key already has. A newer version normally becomes
the version in force; one that is older by the source's own time (occurred_at, then
version) than the version in force is kept as history only ("stale").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Sequence

from services.profile.domain.model import LogRecord

Rank = tuple[dt.datetime, int]
"""(occurred_at, version): the order of versions by the source's own time."""


def unapplied(records: Sequence[LogRecord], applied_sequence: int) -> list[LogRecord]:
    """The entries beyond the cursor (those at or below it were applied already)."""
    return [r for r in records if r.sequence > applied_sequence]


def erased_skipped(customer_id: str, erased: Container[str], entry_erased: bool = False) -> bool:
    """Whether an entry is skipped because its account was erased (erasure is final until an
    explicit reactivation), or because ingest marks the entry erased (its personal fields are
    blanked: applying it would only overwrite what profile knows with blanks)."""
    return entry_erased or customer_id in erased


def newly_erased(records: Sequence[LogRecord], erased: Container[str]) -> list[str]:
    """Accounts that entries mark erased while profile does not know them as erased (a rebuild)."""
    return sorted({r.customer_id for r in records if r.erased and r.customer_id not in erased})


def is_newer_version(known_version: int | None, version: int) -> bool:
    """Whether `version` replaces what the key has (None: the key is new); redelivered or older ones do not."""
    return known_version is None or version > known_version


def rank_of(record: LogRecord) -> Rank:
    """The record's rank by the source's own time."""
    return (record.occurred_at, record.version)


def is_stale(rank: Rank, in_force: Rank | None) -> bool:
    """Whether a newer version is older by the source's time than the version in force: history only."""
    return in_force is not None and rank < in_force


def later_rank(a: Rank | None, b: Rank) -> Rank:
    """The later of two ranks (the version in force among several current rows)."""
    return b if a is None or b > a else a
