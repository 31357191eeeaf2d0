"""Follows ingest's log and applies it: durable cursor, batching, reconnects, lag metric.

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

import grpc
from prometheus_client import Counter, Gauge

from services.profile.records import log_entry_to_record
from services.profile.store.facade import ProfileStore
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.clients import open_channel
from telco360_runtime.logs import get_logger

LAG = Gauge("telco360_profile_ingest_lag_entries", "Ingest log entries not yet applied by profile.")
APPLIED = Counter("telco360_profile_log_entries_applied_total", "Ingest log entries applied by profile.")
CONNECTED = Gauge("telco360_profile_ingest_connected", "1 while the ingest log stream is connected.")


class LogConsumer:
    """Background follower of the ingest log."""

    def __init__(
        self,
        store: ProfileStore,
        ingest_addr: str,
        *,
        batch_size: int = 2000,
        reconnect_seconds: float = 1.0,
        first_versions_known_when_occurred: bool = True,
    ) -> None:
        self.store = store
        self.addr = ingest_addr
        self.batch_size = batch_size
        self.reconnect_seconds = reconnect_seconds
        self.first_versions_known_when_occurred = first_versions_known_when_occurred
        self.connected = False
        self.ingest_last = 0
        # Pages cut grpc's per-message cost ~100x on catch-up; an older ingest lacks the rpc.
        self.paged = True
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
            except grpc.aio.AioRpcError as error:
                if self.paged and error.code() == grpc.StatusCode.UNIMPLEMENTED:
                    self._log.warning("ingest_without_read_log_batches", fallback="ReadLog")
                    self.paged = False
                    continue
                self._log.warning("ingest_stream_broken", code=error.code().name)
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
        channel = open_channel(self.addr, default_timeout=None)
        try:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            # Where ingest's log ended when last heard of (kept across restarts, ingest may be down).
            self.ingest_last = max(self.ingest_last, await self.store.db.run(self.store.known_ingest_sequence))
            with contextlib.suppress(grpc.aio.AioRpcError):
                stats = await stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=5)
                await self.store.db.run(self.store.note_ingest_sequence, stats.last_sequence)
                await self._note_last(stats.last_sequence, cursor)
            # The last run may have been killed while settling: finish now, not when new data comes.
            await self._settle_if_caught_up(cursor)
            request = ingest_pb2.ReadLogRequest(after_sequence=cursor, follow=True)
            call = stub.ReadLogBatches(request) if self.paged else stub.ReadLog(request)
            queue: asyncio.Queue = asyncio.Queue(maxsize=self.batch_size * 4)
            reader = asyncio.get_running_loop().create_task(self._read(call, queue))
            try:
                await self._apply_from(queue, reader)
            finally:
                reader.cancel()
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
        finally:
            await channel.close()

    async def _read(self, call, queue: asyncio.Queue) -> None:
        async for message in call:
            if not self.connected:
                self.connected = True
                CONNECTED.set(1)
            for entry in message.entries if self.paged else (message,):
                await queue.put(entry)
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

    async def _apply(self, entries: list, defer: bool) -> int:
        records = [
            log_entry_to_record(e, first_versions_known_when_occurred=self.first_versions_known_when_occurred)
            for e in entries
        ]
        result = await self.store.db.run(self.store.apply, records, defer)
        APPLIED.inc(result.applied)
        await self._note_last(records[-1].sequence, result.last_sequence)
        return result.last_sequence

    async def _note_last(self, seen: int, applied: int) -> None:
        self.ingest_last = max(self.ingest_last, seen)
        LAG.set(max(0, self.ingest_last - applied))
