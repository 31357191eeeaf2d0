"""Use case: the summary counts of the store (usecases layer)."""

from __future__ import annotations

from typing import Protocol

from services.ingest.domain.entries import Stats
from telco360_runtime.db import Database


class StatsStore(Protocol):
    """What counting needs from a store."""

    def stats(self) -> Stats:
        """Summary counts."""
        ...


class IngestStats:
    """Counts of records, log entries, open quarantine entries and customers."""

    def __init__(self, db: Database, store: StatsStore) -> None:
        self.db = db
        self.store = store

    async def get(self) -> Stats:
        """The current counts (read in the store's thread pool)."""
        return await self.db.run(self.store.stats)
