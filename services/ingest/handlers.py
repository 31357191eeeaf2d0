"""gRPC servicer of the ingest service: protobuf <-> domain conversion and nothing else.

Blocking work (conversion of whole batches, validation, the store transaction) runs in the
store's thread pool via `Database.run`, so the event loop keeps reading the next records of
a stream while a batch commits. A result is sent only after its batch committed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Sequence

import grpc

from services.ingest import converters
from services.ingest.domain.ingest import ingest
from services.ingest.domain.records import Record as RawRecord
from services.ingest.inbox import Inbox
from services.ingest.notify import LogNotifier
from services.ingest.settings import IngestSettings
from services.ingest.store import IngestStore, QuarantineFilter
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.auth import require_role
from telco360_runtime.db import Database
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound

# Who may do what (admin always may): writers feed records, readers consume the log,
# which carries personal data, and data stewards (admin) work the quarantine.
WRITERS = ("service", "agent")
LOG_READERS = ("service",)
QUARANTINE_ROLES = ("service",)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def _encode_token(received_at_us: int, qid: int) -> str:
    return base64.urlsafe_b64encode(f"q1:{received_at_us}:{qid}".encode()).decode()


def _decode_token(token: str, path: str) -> tuple[int, int]:
    try:
        tag, at, qid = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if tag != "q1":
            raise ValueError(tag)
        return int(at), int(qid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(FieldViolation(path, "not a page token from this service",
                                             "INVALID_FORMAT")) from None


def _quarantine_filter(
    request: ingest_pb2.ListQuarantineRequest, prefix: str, violations: list[FieldViolation]
) -> QuarantineFilter:
    after = before = None
    if request.HasField("received_after"):
        after = converters.timestamp_us(request.received_after)
    if request.HasField("received_before"):
        before = converters.timestamp_us(request.received_before)
    if after is not None and before is not None and before <= after:
        violations.append(FieldViolation(prefix + "received_before",
                                          "must be after received_after", "INCONSISTENT"))
    if len(request.source) > 256:
        violations.append(FieldViolation(prefix + "source", "at most 256 characters", "TOO_LONG"))
    if len(request.reason) > 256:
        violations.append(FieldViolation(prefix + "reason", "at most 256 characters", "TOO_LONG"))
    return QuarantineFilter(source=request.source, reason=request.reason,
                            received_after_us=after, received_before_us=before,
                            include_resolved=request.include_resolved)


def _parse_id(text: str, path: str, violations: list[FieldViolation]) -> int | None:
    if text.isdigit() and len(text) < 19:
        return int(text)
    violations.append(FieldViolation(path, "not a quarantine id", "INVALID_FORMAT"))
    return None


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    """Implements telco360.ingest.v1.IngestService."""

    def __init__(self, settings: IngestSettings, db: Database, store: IngestStore,
                 notifier: LogNotifier) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.notifier = notifier

    # -- blocking helpers (run in the store's thread pool) ---------------------------------

    def _ingest_raws(
        self, raws: Sequence[RawRecord], start_index: int,
        quarantine_ids: Sequence[int | None] | None = None,
    ) -> tuple[list[ingest_pb2.RecordResult], int]:
        prepared, outcomes, last = ingest(self.store, raws, quarantine_ids=quarantine_ids)
        result_pb = converters.result_pb
        return [result_pb(start_index + i, p, o)
                for i, (p, o) in enumerate(zip(prepared, outcomes))], last

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

    # -- RPCs ------------------------------------------------------------------------------

    async def SubmitRecord(self, request: ingest_pb2.SubmitRecordRequest,
                           context: grpc.aio.ServicerContext) -> ingest_pb2.RecordResult:
        require_role(WRITERS)
        if not request.HasField("record"):
            raise InvalidArgument(FieldViolation("record", "is required", "REQUIRED"))
        results, last = await self.db.run(self._ingest_records, [request.record], 0)
        self.notifier.publish(last)
        result = results[0]
        if result.status == ingest_pb2.RECORD_STATUS_REJECTED:
            raise InvalidArgument(
                [FieldViolation("record." + v.field, v.description, v.reason)
                 for v in result.violations],
                message=f"record rejected and quarantined as {result.quarantine_id}",
            )
        return result

    async def IngestRecords(self, request_iterator: AsyncIterator[ingest_pb2.Record],
                            context: grpc.aio.ServicerContext
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

    async def IngestRecordBatches(self, request_iterator: AsyncIterator[ingest_pb2.RecordBatch],
                                  context: grpc.aio.ServicerContext
                                  ) -> AsyncIterator[ingest_pb2.RecordBatchResult]:
        require_role(WRITERS)
        # A few messages of many records each are plenty to keep the commit loop busy.
        inbox: Inbox[ingest_pb2.RecordBatch] = Inbox(8)
        reader = asyncio.create_task(inbox.fill(request_iterator))
        index = 0
        try:
            while True:
                messages = await inbox.take_weighted(self.settings.batch_max_records,
                                                     lambda m: len(m.records))
                if not messages:
                    break
                answers, last = await self.db.run(self._ingest_batches, messages, index)
                self.notifier.publish(last)
                for answer in answers:
                    index += len(answer.results)
                    yield answer
        finally:
            if not reader.done():
                reader.cancel()

    async def ListQuarantine(self, request: ingest_pb2.ListQuarantineRequest,
                             context: grpc.aio.ServicerContext
                             ) -> ingest_pb2.ListQuarantineResponse:
        require_role(QUARANTINE_ROLES)
        violations: list[FieldViolation] = []
        flt = _quarantine_filter(request, "", violations)
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            violations.append(FieldViolation("page.page_size", f"must be 0-{MAX_PAGE_SIZE}",
                                             "OUT_OF_RANGE"))
        if violations:
            raise InvalidArgument(violations)
        after = _decode_token(request.page.page_token, "page.page_token") \
            if request.page.page_token else None
        items, total = await self.db.run(self.store.list_quarantine, flt, after, size + 1)
        more = len(items) > size
        items = items[:size]
        token = _encode_token(items[-1].received_at_us, items[-1].id) if more else ""
        return ingest_pb2.ListQuarantineResponse(
            entries=[converters.quarantine_entry_pb(i) for i in items],
            page=common_pb2.PageResponse(next_page_token=token, total_count=total),
        )

    async def ReplayQuarantine(self, request: ingest_pb2.ReplayQuarantineRequest,
                               context: grpc.aio.ServicerContext
                               ) -> ingest_pb2.ReplayQuarantineResponse:
        require_role(QUARANTINE_ROLES)
        violations: list[FieldViolation] = []
        wanted: dict[int, ingest_pb2.Record | None] = {}
        for i, text in enumerate(request.quarantine_ids):
            qid = _parse_id(text, f"quarantine_ids[{i}]", violations)
            if qid is not None:
                wanted.setdefault(qid, None)
        correction_paths: dict[int, str] = {}
        for i, correction in enumerate(request.corrections):
            qid = _parse_id(correction.quarantine_id, f"corrections[{i}].quarantine_id", violations)
            if not correction.HasField("record"):
                violations.append(FieldViolation(f"corrections[{i}].record", "is required",
                                                 "REQUIRED"))
            elif qid is not None:
                wanted[qid] = correction.record
                correction_paths[qid] = f"corrections[{i}].record"
        flt = None
        if request.HasField("filter"):
            flt = _quarantine_filter(request.filter, "filter.", violations)
        if not request.quarantine_ids and not request.corrections and flt is None:
            violations.append(FieldViolation(
                "quarantine_ids", "name entries, send corrections or give a filter", "REQUIRED"))
        if violations:
            raise InvalidArgument(violations)
        limit = self.settings.replay_max_records
        if flt is not None:
            for qid in await self.db.run(self.store.quarantine_ids, flt, limit + 1):
                wanted.setdefault(qid, None)
        if len(wanted) > limit:
            raise InvalidArgument(FieldViolation(
                "filter", f"more than {limit} entries; narrow the filter", "OUT_OF_RANGE"))
        entries = await self.db.run(self.store.get_quarantine, list(wanted))
        missing = [qid for qid in wanted if qid not in entries]
        if missing:
            raise NotFound("quarantine entry", str(missing[0]))
        raws: list[RawRecord] = []
        for qid, correction in wanted.items():
            stored = converters.raw_record_pb(entries[qid].record)
            if correction is None:
                raws.append(converters.record_to_dict(stored))
                continue
            path = correction_paths[qid]
            for name in ("source", "source_record_id"):
                kept = getattr(stored, name)
                if kept and getattr(correction, name) != kept:
                    violations.append(FieldViolation(
                        f"{path}.{name}", f"must match the quarantined record ({kept!r})",
                        "INCONSISTENT"))
            raws.append(converters.record_to_dict(correction))
        if violations:
            raise InvalidArgument(violations)
        ids = list(wanted)
        results: list[ingest_pb2.RecordResult] = []
        step = self.settings.batch_max_records
        for start in range(0, len(raws), step):
            chunk, last = await self.db.run(
                self._ingest_raws, raws[start:start + step], start, ids[start:start + step])
            self.notifier.publish(last)
            results.extend(chunk)
        rejected = sum(1 for r in results if r.status == ingest_pb2.RECORD_STATUS_REJECTED)
        return ingest_pb2.ReplayQuarantineResponse(
            results=results, moved=len(results) - rejected, still_rejected=rejected)

    async def ReadLog(self, request: ingest_pb2.ReadLogRequest,
                      context: grpc.aio.ServicerContext) -> AsyncIterator[ingest_pb2.LogEntry]:
        async for page in self._log_pages(request):
            for entry in page:
                yield entry

    async def ReadLogBatches(self, request: ingest_pb2.ReadLogRequest,
                             context: grpc.aio.ServicerContext
                             ) -> AsyncIterator[ingest_pb2.LogEntryBatch]:
        # One message per page: grpc.aio costs ~100 us per streamed message, several times
        # what reading and converting an entry costs, so catch-up reads want pages.
        async for page in self._log_pages(request):
            for chunk in _split_by_size(page, _MAX_BATCH_BYTES):
                yield ingest_pb2.LogEntryBatch(entries=chunk)

    async def _log_pages(self, request: ingest_pb2.ReadLogRequest
                         ) -> AsyncIterator[list[ingest_pb2.LogEntry]]:
        """Pages of the log after the request's cursor; in follow mode waits for more."""
        require_role(LOG_READERS)
        violations: list[FieldViolation] = []
        if request.after_sequence < 0:
            violations.append(FieldViolation("after_sequence", "must be >= 0", "OUT_OF_RANGE"))
        if request.limit < 0:
            violations.append(FieldViolation("limit", "must be >= 0 (0 = no limit)",
                                             "OUT_OF_RANGE"))
        if violations:
            raise InvalidArgument(violations)
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

    async def GetIngestStats(self, request: ingest_pb2.GetIngestStatsRequest,
                             context: grpc.aio.ServicerContext) -> ingest_pb2.IngestStats:
        stats = await self.db.run(self.store.stats)
        return ingest_pb2.IngestStats(
            records=stats.records, log_entries=stats.log_entries, quarantined=stats.quarantined,
            last_sequence=stats.last_sequence, customers=stats.customers)


# Below grpc's default 4 MiB receive limit, so a default-configured client can read any page.
_MAX_BATCH_BYTES = 2 * 1024 * 1024


def _split_by_size(entries: list[ingest_pb2.LogEntry], max_bytes: int
                   ) -> list[list[ingest_pb2.LogEntry]]:
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
