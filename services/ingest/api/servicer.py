"""gRPC servicer of the ingest service: protobuf <-> domain conversion and nothing else.

Blocking work (conversion of whole batches, validation, the store transaction) runs in the
store's thread pool via `Database.run`, so the event loop keeps reading the next records of
a stream while a batch commits. A result is sent only after its batch committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc

from services.ingest import checks, converters
from services.ingest.domain.ingest import ingest
from services.ingest.domain.records import Record as RawRecord
from services.ingest.inbox import Inbox
from services.ingest.notify import LogNotifier
from services.ingest.settings import IngestSettings
from services.ingest.store import IngestStore, QuarantineFilter
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime import bounds
from telco360_runtime.auth import require_role
from telco360_runtime.db import Database
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound

# Who may do what (admin always may): writers feed records, readers consume the log,
# which carries personal data, and data stewards (admin) work the quarantine.
WRITERS = ("service", "agent")
LOG_READERS = ("service",)
QUARANTINE_ROLES = ("service",)
# Quarantine rows read per store query while filling one page (bounds memory per call).
_QUARANTINE_CHUNK = 100
# Room left in a page for everything but the repeated items (paging fields, tags).
_PAGE_OVERHEAD = 256


def _item_bytes(size: int) -> int:
    """Encoded size of a repeated message field's element of `size` bytes (tag + length)."""
    return 1 + (size.bit_length() + 6) // 7 + size


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    """Implements telco360.ingest.v1.IngestService."""

    def __init__(self, settings: IngestSettings, db: Database, store: IngestStore, notifier: LogNotifier) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.notifier = notifier

    # -- blocking helpers (run in the store's thread pool) ---------------------------------

    def _ingest_raws(
        self,
        raws: Sequence[RawRecord],
        start_index: int,
        quarantine_ids: Sequence[int | None] | None = None,
    ) -> tuple[list[ingest_pb2.RecordResult], int]:
        prepared, outcomes, last = ingest(self.store, raws, quarantine_ids=quarantine_ids)
        result_pb = converters.result_pb
        pairs = enumerate(zip(prepared, outcomes, strict=False))
        return [result_pb(start_index + i, p, o) for i, (p, o) in pairs], last

    def _ingest_records(
        self, records: Sequence[ingest_pb2.Record], start_index: int
    ) -> tuple[list[ingest_pb2.RecordResult], int]:
        to_dict = converters.record_to_dict
        return self._ingest_raws([to_dict(r) for r in records], start_index)

    def _ingest_batches(
        self, messages: Sequence[ingest_pb2.RecordBatch], start_index: int
    ) -> tuple[list[ingest_pb2.RecordBatchResult], int]:
        to_dict = converters.record_to_dict
        raws = [to_dict(r) for m in messages for r in m.records]
        prepared, outcomes, last = ingest(self.store, raws)
        fill = converters.fill_result
        answers: list[ingest_pb2.RecordBatchResult] = []
        position = 0
        for message in messages:
            answer = ingest_pb2.RecordBatchResult()
            add = answer.results.add
            for _ in range(len(message.records)):
                fill(add(), start_index + position, prepared[position], outcomes[position])
                position += 1
            answers.append(answer)
        return answers, last

    def _read_log(self, after: int, limit: int) -> list[ingest_pb2.LogEntry]:
        return [converters.log_entry_pb(item) for item in self.store.read_log(after, limit)]

    def _page_bytes(self) -> int:
        """Byte budget of one answer: the setting, never above the suite's PAGE_MAX_BYTES."""
        return min(self.settings.page_max_bytes, bounds.PAGE_MAX_BYTES) - _PAGE_OVERHEAD

    def _quarantine_page(
        self, flt: QuarantineFilter, after: tuple[int, int] | None, size: int
    ) -> ingest_pb2.ListQuarantineResponse:
        """Up to `size` entries after the cursor whose encoded answer stays within the byte
        budget (at least one entry); the token resumes after the last entry sent."""
        answer = ingest_pb2.ListQuarantineResponse()
        budget, used, total, cursor, more = self._page_bytes(), 0, -1, after, False
        while True:
            want = min(size - len(answer.entries), _QUARANTINE_CHUNK)
            items, count = self.store.list_quarantine(flt, cursor, want + 1, count_total=total < 0)
            total = count if total < 0 else total
            for item in items[:want]:
                entry = converters.quarantine_entry_pb(item)
                cost = _item_bytes(entry.ByteSize())
                if answer.entries and used + cost > budget:
                    more = True
                    break
                answer.entries.append(entry)
                used += cost
                cursor = (item.received_at_us, item.id)
            if more or len(items) <= want:
                break  # page full by bytes, or no rows beyond these
            if len(answer.entries) >= size:
                more = True
                break
        token = checks.encode_token(*cursor) if more and cursor is not None else ""
        answer.page.CopyFrom(common_pb2.PageResponse(next_page_token=token, total_count=total))
        return answer

    # -- RPCs ------------------------------------------------------------------------------

    async def SubmitRecord(
        self, request: ingest_pb2.SubmitRecordRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.RecordResult:
        require_role(WRITERS)
        if not request.HasField("record"):
            raise InvalidArgument(FieldViolation("record", "is required", "REQUIRED"))
        results, last = await self.db.run(self._ingest_records, [request.record], 0)
        self.notifier.publish(last)
        result = results[0]
        if result.status == ingest_pb2.RECORD_STATUS_REJECTED:
            raise InvalidArgument(
                checks.reported(
                    [FieldViolation("record." + v.field, v.description, v.reason) for v in result.violations]
                ),
                message=f"record rejected and quarantined as {result.quarantine_id}",
            )
        return result

    async def IngestRecords(
        self, request_iterator: AsyncIterator[ingest_pb2.Record], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.RecordResult]:
        require_role(WRITERS)
        inbox: Inbox[ingest_pb2.Record] = Inbox(self.settings.inbox_records)
        reader = asyncio.create_task(inbox.fill(request_iterator))
        most = self.settings.batch_max_records
        linger = self.settings.batch_linger_ms / 1000
        index = 0
        try:
            while True:
                batch = await inbox.take(most, linger)
                if not batch:
                    break
                results, last = await self.db.run(self._ingest_records, batch, index)
                self.notifier.publish(last)
                index += len(batch)
                for result in results:
                    yield result
        finally:
            if not reader.done():
                reader.cancel()

    async def IngestRecordBatches(
        self, request_iterator: AsyncIterator[ingest_pb2.RecordBatch], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.RecordBatchResult]:
        require_role(WRITERS)
        # A few messages of many records each are plenty to keep the commit loop busy.
        inbox: Inbox[ingest_pb2.RecordBatch] = Inbox(8)
        reader = asyncio.create_task(inbox.fill(request_iterator))
        index = 0
        try:
            while True:
                messages = await inbox.take_weighted(self.settings.batch_max_records, lambda m: len(m.records))
                if not messages:
                    break
                # Documented: a message over record_batch_max ends the stream with
                # INVALID_ARGUMENT once every earlier message is answered, before any of
                # its own records is stored.
                most = self.settings.record_batch_max
                oversized = next((i for i, m in enumerate(messages) if len(m.records) > most), None)
                if oversized is not None:
                    messages, refused = messages[:oversized], messages[oversized]
                if messages:
                    answers, last = await self.db.run(self._ingest_batches, messages, index)
                    self.notifier.publish(last)
                    for answer in answers:
                        index += len(answer.results)
                        yield answer
                if oversized is not None:
                    checks.record_batch(refused, most)
        finally:
            if not reader.done():
                reader.cancel()

    async def ListQuarantine(
        self, request: ingest_pb2.ListQuarantineRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ListQuarantineResponse:
        require_role(QUARANTINE_ROLES)
        page = checks.list_quarantine(request)
        return await self.db.run(self._quarantine_page, page.filter, page.after, page.size)

    async def ReplayQuarantine(
        self, request: ingest_pb2.ReplayQuarantineRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ReplayQuarantineResponse:
        require_role(QUARANTINE_ROLES)
        limit = self.settings.replay_max_records
        plan = checks.replay_quarantine(request, limit)
        wanted = plan.wanted
        if plan.filter is not None:
            for qid in await self.db.run(self.store.quarantine_ids, plan.filter, limit + 1):
                wanted.setdefault(qid, None)
        if len(wanted) > limit:
            raise InvalidArgument(
                FieldViolation("filter", f"more than {limit} entries; narrow the filter", bounds.TOO_MANY)
            )
        ids = list(wanted)
        keys = await self.db.run(self.store.quarantine_keys, ids)
        missing = [qid for qid in ids if qid not in keys]
        if missing:
            raise NotFound("quarantine entry", str(missing[0]))
        violations: list[FieldViolation] = []
        for qid, path in plan.correction_paths.items():
            correction = wanted[qid]
            assert correction is not None
            for name, kept in zip(("source", "source_record_id"), keys[qid], strict=False):
                if kept and getattr(correction, name) != kept:
                    violations.append(
                        FieldViolation(
                            f"{path}.{name}",
                            f"must match the quarantined record ({bounds.preview(kept)})",
                            "INCONSISTENT",
                        )
                    )
        if violations:
            raise InvalidArgument(checks.reported(violations))
        return await self._replay(ids, wanted)

    async def _replay(
        self, ids: list[int], wanted: dict[int, ingest_pb2.Record | None]
    ) -> ingest_pb2.ReplayQuarantineResponse:
        """Replay entries in chunks; the answer lists results while it stays within the
        page bytes and counts the rest (`results_omitted`), so it can always be sent."""
        answer = ingest_pb2.ReplayQuarantineResponse()
        budget, used, omitted = self._page_bytes(), 0, 0
        step = self.settings.batch_max_records
        for start in range(0, len(ids), step):
            chunk_ids = ids[start : start + step]
            stored_ids = [qid for qid in chunk_ids if wanted[qid] is None]
            stored = await self.db.run(self.store.get_quarantine, stored_ids) if stored_ids else {}
            raws: list[RawRecord] = []
            for qid in chunk_ids:
                message = wanted[qid]
                if message is None:
                    message = converters.raw_record_pb(stored[qid].record)
                raws.append(converters.record_to_dict(message))
            chunk, last = await self.db.run(self._ingest_raws, raws, start, chunk_ids)
            self.notifier.publish(last)
            for result in chunk:
                if result.status == ingest_pb2.RECORD_STATUS_REJECTED:
                    answer.still_rejected += 1
                else:
                    answer.moved += 1
                cost = _item_bytes(result.ByteSize())
                if omitted or used + cost > budget:
                    omitted += 1
                    continue
                answer.results.append(result)
                used += cost
        answer.results_omitted = omitted
        return answer

    async def ReadLog(
        self, request: ingest_pb2.ReadLogRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.LogEntry]:
        async for page in self._log_pages(request):
            for entry in page:
                yield entry

    async def ReadLogBatches(
        self, request: ingest_pb2.ReadLogRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.LogEntryBatch]:
        # One message per page: grpc.aio costs ~100 us per streamed message, several times
        # what reading and converting an entry costs, so catch-up reads want pages.
        async for page in self._log_pages(request):
            for chunk in _split_by_size(page, _MAX_BATCH_BYTES):
                yield ingest_pb2.LogEntryBatch(entries=chunk)

    async def _log_pages(self, request: ingest_pb2.ReadLogRequest) -> AsyncIterator[list[ingest_pb2.LogEntry]]:
        """Pages of the log after the request's cursor; in follow mode waits for more."""
        require_role(LOG_READERS)
        checks.read_log(request)
        after = request.after_sequence
        remaining = request.limit or None
        page = self.settings.log_page_size
        while True:
            size = page if remaining is None else min(page, remaining)
            entries = await self.db.run(self._read_log, after, size)
            if entries:
                yield entries
                after = entries[-1].sequence
            if remaining is not None:
                remaining -= len(entries)
                if remaining <= 0:
                    return
            if len(entries) == size:
                continue  # more may be waiting: read on without pausing
            if not request.follow or self.notifier.closed:
                return
            await self.notifier.wait_beyond(after, self.settings.log_poll_seconds)

    async def GetIngestStats(
        self, request: ingest_pb2.GetIngestStatsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.IngestStats:
        stats = await self.db.run(self.store.stats)
        return ingest_pb2.IngestStats(
            records=stats.records,
            log_entries=stats.log_entries,
            quarantined=stats.quarantined,
            last_sequence=stats.last_sequence,
            customers=stats.customers,
        )


# Below grpc's default 4 MiB receive limit, so a default-configured client can read any page.
_MAX_BATCH_BYTES = 2 * 1024 * 1024


def _split_by_size(entries: list[ingest_pb2.LogEntry], max_bytes: int) -> list[list[ingest_pb2.LogEntry]]:
    """Consecutive runs of entries whose encoded size stays under `max_bytes` (at least one each)."""
    chunks: list[list[ingest_pb2.LogEntry]] = [[]]
    size = 0
    for entry in entries:
        entry_size = entry.ByteSize()
        if chunks[-1] and size + entry_size > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks
