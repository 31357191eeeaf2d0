"""Use case: follow ingest's log and apply it: durable cursor, batching, reconnects, lag metric.

A reader task streams ReadLogBatches(after=cursor, follow=True) (pages of entries; plain
ReadLog when ingest predates it) into a bounded queue; the applier
drains the queue in batches and applies each batch in one transaction together with the
cursor. When ingest is down the service keeps serving what it has and reconnects from the
stored cursor; entries delivered twice are skipped by the store (at-least-once delivery,
idempotent apply).

Catch-up: while the cursor is behind the last sequence ingest reported, batches only queue
their accounts (`pending_refresh`); once caught up the queue is drained ("settling") and
the revenue shares are re-ranked on the complete base. The queue is durable, so a restart
after a kill at any point drains what is left as soon as profile is caught up again (at
once when nothing new arrived), and reaches the state an uninterrupted run reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from prometheus_client import Counter, Gauge

from services.profile.domain.model import LogRecord
from services.profile.usecases.profile import ProfileUseCases
from telco360_runtime.errors import FailedPrecondition, Unavailable
from telco360_runtime.logs import get_logger

LAG = Gauge("telco360_profile_ingest_lag_entries", "Ingest log entries not yet applied by profile.")
APPLIED = Counter("telco360_profile_log_entries_applied_total", "Ingest log entries applied by profile.")
CONNECTED = Gauge("telco360_profile_ingest_connected", "1 while the ingest log stream is connected.")


class IngestLogPeer(Protocol):
    """What the follower needs of ingest (peers/ingest.IngestLog)."""

    def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def last_sequence(self) -> int | None: ...

    def follow(self, after: int) -> AsyncIterator[list[LogRecord]]: ...


class LogConsumer:
    """Background follower of the ingest log."""

    def __init__(
        self,
        store: ProfileUseCases,
        ingest: IngestLogPeer,
        *,
        batch_size: int = 2000,
        reconnect_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.batch_size = batch_size
        self.reconnect_seconds = reconnect_seconds
        self.connected = False
        self.ingest_last = 0
        self._task: asyncio.Task | None = None
        self._log = get_logger(component="log_consumer")

    def start(self) -> None:
        """Start following in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="profile-log-consumer")

    async def stop(self) -> None:
        """Stop following (the cursor is already durable)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        delay = self.reconnect_seconds
        while True:
            applied_before = await self.store.db.run(self.store.applied_sequence)
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except FailedPrecondition:  # ingest lacks ReadLogBatches: the peer reads ReadLog from now on
                continue
            except Unavailable as error:
                self._log.warning("ingest_stream_broken", code=getattr(error, "code", "UNAVAILABLE"))
            except Exception as error:  # noqa: BLE001 - keep serving; retry after a pause
                self._log.error("log_apply_failed", exc_info=error)
            self.connected = False
            CONNECTED.set(0)
            # Back off while ingest stays down; start over once entries flow again.
            progressed = await self.store.db.run(self.store.applied_sequence) > applied_before
            delay = self.reconnect_seconds if progressed else min(delay * 2, 30 * self.reconnect_seconds)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        cursor = await self.store.db.run(self.store.applied_sequence)
        self.ingest.connect()
        try:
            # Where ingest's log ended when last heard of (kept across restarts, ingest may be down).
            self.ingest_last = max(self.ingest_last, await self.store.db.run(self.store.known_ingest_sequence))
            last = await self.ingest.last_sequence()
            if last is not None:
                await self.store.db.run(self.store.note_ingest_sequence, last)
                await self._note_last(last, cursor)
            # The last run may have been killed while settling: finish now, not when new data comes.
            await self._settle_if_caught_up(cursor)
            queue: asyncio.Queue = asyncio.Queue(maxsize=self.batch_size * 4)
            reader = asyncio.get_running_loop().create_task(self._read(self.ingest.follow(cursor), queue))
            try:
                await self._apply_from(queue, reader)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
        finally:
            await self.ingest.close()

    async def _read(self, stream: AsyncIterator[list[LogRecord]], queue: asyncio.Queue) -> None:
        async for records in stream:
            if not self.connected:
                self.connected = True
                CONNECTED.set(1)
            for record in records:
                await queue.put(record)
        await queue.put(None)

    async def _apply_from(self, queue: asyncio.Queue, reader: asyncio.Task) -> None:
        self.connected = True
        CONNECTED.set(1)
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                reader.result()  # raises the stream error
                return
            first = getter.result()
            if first is None:
                return
            batch, ended = [first], False
            while len(batch) < self.batch_size and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    ended = True
                    break
                batch.append(item)
            # More entries waiting (in the queue or still in ingest's log): catch-up mode,
            # accounts are recomputed once at the end, against the whole base.
            last = batch[-1].sequence
            applied = await self._apply(batch, defer=not queue.empty() or last < self.ingest_last)
            if queue.empty():
                await self._settle_if_caught_up(applied)
            if ended:
                return

    async def _settle_if_caught_up(self, applied: int) -> None:
        """Drain the catch-up queue and re-rank revenue shares once the cursor reached ingest's end."""
        if applied < self.ingest_last:
            return
        settled = 0
        while done := await self.store.db.run(self.store.refresh_pending):
            settled += done
        if settled:
            # Settled accounts kept their old share (none when new): rank them on the whole base.
            await self.store.db.run(self.store.refresh_revenue_shares)
            self._log.info("catch_up_settled", accounts=settled)

    async def _apply(self, records: list[LogRecord], defer: bool) -> int:
        result = await self.store.db.run(self.store.apply, records, defer)
        APPLIED.inc(result.applied)
        await self._note_last(records[-1].sequence, result.last_sequence)
        return result.last_sequence

    async def _note_last(self, seen: int, applied: int) -> None:
        self.ingest_last = max(self.ingest_last, seen)
        LAG.set(max(0, self.ingest_last - applied))
