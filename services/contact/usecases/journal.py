"""Write-behind journal of next-best-offer answers.

A call-centre agent waits on GetNextBestOffer, so its answer is not held up by a commit:
answers are queued and written in batches (one transaction per batch, at most every
`interval` seconds). Contact decisions that reserve or refuse a slot are never written
this way: they commit with the ledger. On stop the queue is flushed; a crash loses at
most the last interval's NBO journal entries, never a ledger entry. Answers about an account
erased meanwhile are dropped at the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from services.contact.store import erasure, records
from services.contact.store.ledger import write_transaction
from telco360_runtime.db import Database
from telco360_runtime.logs import get_logger

Entry = tuple[str, str, bool, dt.datetime, str]
"""(decision_id, customer_id, allowed, decided_at, payload)."""


class NboJournal:
    """Queues NBO answers and writes them in batches."""

    def __init__(self, db: Database, interval: float = 0.05, batch: int = 500) -> None:
        self.db, self.interval, self.batch = db, interval, batch
        self._queue: list[Entry] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._log = get_logger()

    def add(self, entry: Entry) -> None:
        """Queue one answer (written within `interval`)."""
        self._queue.append(entry)

    def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far."""
        while self._queue:
            chunk, self._queue = self._queue[: self.batch], self._queue[self.batch :]
            try:
                await self.db.run(self._write, chunk)
            except Exception as error:  # noqa: BLE001 - a journal hiccup must not stop answers
                self._log.warning("nbo_journal_write_failed", entries=len(chunk), error=type(error).__name__)

    def _write(self, chunk: list[Entry]) -> None:
        with write_transaction(self.db) as session:
            # An answer about an account erased since it was given is not written (issue #15).
            erased = erasure.erased_among(session, [entry[1] for entry in chunk])
            for decision_id, customer_id, allowed, decided_at, payload in chunk:
                if customer_id in erased:
                    continue
                records.insert_document(session, decision_id, customer_id, "nbo", allowed, decided_at, payload)

    async def stop(self) -> None:
        """Stop the writer after a last flush."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await self.flush()
