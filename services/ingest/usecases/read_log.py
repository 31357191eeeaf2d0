"""Use case: read the ordered log (usecases layer), page by page, and in follow mode wait for more.

A commit in this process wakes a follower at once (usecases/notify.py); the poll timeout
makes it find entries committed by other replicas sharing the same database. The caller
passes `encode` (a stored LogItem -> its message), run in the store's thread pool with the read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from services.ingest.domain.entries import LogItem
from services.ingest.usecases.notify import LogNotifier
from telco360_runtime.db import Database

E = TypeVar("E")


class LogReader(Protocol):
    """What reading the log needs from a store."""

    def read_log(self, after: int, limit: int) -> list[LogItem]:
        """Up to `limit` committed log entries after a sequence, in order."""
        ...


class ReadLog:
    """Pages of the log after a cursor."""

    def __init__(
        self, db: Database, store: LogReader, notifier: LogNotifier, page_size: int, poll_seconds: float
    ) -> None:
        self.db = db
        self.store = store
        self.notifier = notifier
        self.page_size = page_size
        self.poll_seconds = poll_seconds

    def _read(self, after: int, size: int, encode: Callable[[LogItem], E]) -> tuple[list[E], int]:
        items = self.store.read_log(after, size)
        return [encode(item) for item in items], (items[-1].sequence if items else after)

    async def pages(
        self, after: int, limit: int, follow: bool, encode: Callable[[LogItem], E]
    ) -> AsyncIterator[list[E]]:
        """Pages of entries after `after` (at most `limit` in all, 0 = no limit); with `follow`
        waits for more until the service shuts down."""
        remaining = limit or None
        page = self.page_size
        while True:
            size = page if remaining is None else min(page, remaining)
            entries, after = await self.db.run(self._read, after, size, encode)
            if entries:
                yield entries
            if remaining is not None:
                remaining -= len(entries)
                if remaining <= 0:
                    return
            if len(entries) == size:
                continue  # more may be waiting: read on without pausing
            if not follow or self.notifier.closed:
                return
            await self.notifier.wait_beyond(after, self.poll_seconds)
