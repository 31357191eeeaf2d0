"""Use case: ingest a batch of records (usecases layer): validate, apply in one transaction, wake followers.

Blocking work runs in the store's thread pool via `Database.run`, so the event loop keeps
reading the next records of a stream while a batch commits. The caller (api/servicer.py)
hands over a `decode` (its messages -> domain records) and an `encode` (prepared records and
outcomes -> its answers), so that converting a whole batch runs there too; the answer is
returned only after its batch committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from services.ingest.domain.ingest import Outcome, Prepared, prepare
from services.ingest.domain.records import Record
from services.ingest.usecases.notify import LogNotifier
from telco360_runtime.db import Database

A = TypeVar("A")


class LogStore(Protocol):
    """What ingesting needs from a store (services/ingest/store implements it)."""

    def apply_batch(self, items: Sequence[Prepared]) -> tuple[list[Outcome], int]:
        """Apply a batch in one committed transaction: one outcome per item, in order, and
        the last sequence after it."""
        ...


def ingest(
    store: LogStore,
    raws: Sequence[Record],
    now: float | None = None,
    quarantine_ids: Sequence[int | None] | None = None,
) -> tuple[list[Prepared], list[Outcome], int]:
    """Validate a batch and apply it in one transaction; nothing is lost or doubled (blocking).

    Returns the prepared records (for their normalisations and violations), one outcome per
    record, and the last log sequence once the transaction committed.
    """
    prepared = prepare(raws, now, quarantine_ids)
    outcomes, last = store.apply_batch(prepared)
    return prepared, outcomes, last


class IngestRecords:
    """Ingests batches on the store's thread pool and announces what committed."""

    def __init__(self, db: Database, store: LogStore, notifier: LogNotifier) -> None:
        self.db = db
        self.store = store
        self.notifier = notifier

    async def apply(
        self,
        decode: Callable[[], Sequence[Record]],
        encode: Callable[[Sequence[Prepared], Sequence[Outcome]], A],
        quarantine_ids: Sequence[int | None] | None = None,
    ) -> A:
        """Decode, ingest and encode one batch in the pool; followers are woken after the commit.

        `quarantine_ids`, on replays, names the quarantine entry each record comes from.
        """
        answer, last = await self.db.run(self._apply, decode, encode, quarantine_ids)
        self.notifier.publish(last)
        return answer

    def _apply(
        self,
        decode: Callable[[], Sequence[Record]],
        encode: Callable[[Sequence[Prepared], Sequence[Outcome]], A],
        quarantine_ids: Sequence[int | None] | None,
    ) -> tuple[A, int]:
        prepared, outcomes, last = ingest(self.store, decode(), quarantine_ids=quarantine_ids)
        return encode(prepared, outcomes), last
