"""gRPC servicer of the ingest service (api layer): checks requests, translates, calls use cases.

The use cases run the blocking work in the store's thread pool; the servicer hands them its
converters so that a whole batch is converted there too, and sends a result only after its
batch committed (usecases/ingest_records.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import grpc

from services.ingest.api import checks, converters
from services.ingest.api.inbox import Inbox
from services.ingest.domain.entries import LogItem
from services.ingest.domain.erasure import (
    REFUSAL,
    REFUSED,
    AccountErased,
    check_apply_request,
    check_lift_request,
)
from services.ingest.domain.ingest import Outcome, Prepared
from services.ingest.domain.records import Record as RawRecord
from services.ingest.domain.violations import reported
from services.ingest.settings import IngestSettings
from services.ingest.usecases.erasure import Erasures
from services.ingest.usecases.ingest_records import IngestRecords
from services.ingest.usecases.quarantine import Quarantine
from services.ingest.usecases.read_log import ReadLog
from services.ingest.usecases.stats import IngestStats
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime import bounds, paging
from telco360_runtime import context as call_context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.timeconv import to_timestamp

# Room left in a page for everything but the repeated items (paging fields, tags).
_PAGE_OVERHEAD = 256
# Below grpc's default 4 MiB receive limit, so a default-configured client can read any page.
_MAX_BATCH_BYTES = 2 * 1024 * 1024


def _item_bytes(size: int) -> int:
    """Encoded size of a repeated message field's element of `size` bytes (tag + length)."""
    return 1 + (size.bit_length() + 6) // 7 + size


def _message_cost(message: ingest_pb2.QuarantineEntry | ingest_pb2.RecordResult) -> int:
    return _item_bytes(message.ByteSize())


def _stored_record(raw_json: str) -> RawRecord:
    """A quarantined record (JSON as received) as the domain record a replay ingests."""
    return converters.record_to_dict(converters.raw_record_pb(raw_json))


def _fill_result(
    result: ingest_pb2.RecordResult, index: int, item: Prepared, outcome: Outcome
) -> ingest_pb2.RecordResult:
    """converters.fill_result, and the answer to a refused record (its account is erased):
    REJECTED with the one NOT_ALLOWED violation on `customer_id` and no quarantine id, since
    nothing of it was stored (domain/erasure.py)."""
    if outcome.status != REFUSED:
        return converters.fill_result(result, index, item, outcome)
    result.index = index
    result.source = item.source
    result.source_record_id = item.source_record_id
    result.status = ingest_pb2.RECORD_STATUS_REJECTED
    result.violations.append(converters.violation_pb(REFUSAL))
    return result


def _result_pb(index: int, item: Prepared, outcome: Outcome) -> ingest_pb2.RecordResult:
    """The RecordResult of one prepared record (see `_fill_result`)."""
    return _fill_result(ingest_pb2.RecordResult(), index, item, outcome)


def _refused(result: ingest_pb2.RecordResult) -> bool:
    """Whether a result is a refusal (see `_fill_result`)."""
    return (
        result.status == ingest_pb2.RECORD_STATUS_REJECTED
        and not result.quarantine_id
        and any(v.reason == REFUSAL.reason and v.field == REFUSAL.field for v in result.violations)
    )


def _log_entry(item: LogItem) -> ingest_pb2.LogEntry:
    """A stored log item as a LogEntry (converters.log_entry_pb), `erased` set for an erased
    account's entries (their payloads' personal fields are blanked)."""
    entry = converters.log_entry_pb(item)
    if item.erased:
        entry.erased = True
    return entry


def _results(
    start_index: int,
) -> Callable[[Sequence[Prepared], Sequence[Outcome]], list[ingest_pb2.RecordResult]]:
    """Encoder of one batch's results, numbered from `start_index`."""

    def encode(prepared: Sequence[Prepared], outcomes: Sequence[Outcome]) -> list[ingest_pb2.RecordResult]:
        result_pb = _result_pb
        pairs = enumerate(zip(prepared, outcomes, strict=False))
        return [result_pb(start_index + i, p, o) for i, (p, o) in pairs]

    return encode


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    """Implements telco360.ingest.v1.IngestService."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        ingest: IngestRecords,
        log: ReadLog,
        quarantine: Quarantine,
        stats: IngestStats,
        audit: AuditTrail,
        erasures: Erasures,
    ) -> None:
        self.settings = settings
        self.ingest = ingest
        self.log = log
        self.quarantine = quarantine
        self.stats = stats
        self.audit = audit
        self.erasures = erasures

    def _page_bytes(self) -> int:
        """Byte budget of one answer: the setting, never above the suite's PAGE_MAX_BYTES."""
        return min(self.settings.page_max_bytes, bounds.PAGE_MAX_BYTES) - _PAGE_OVERHEAD

    async def _ingest_records(
        self, records: Sequence[ingest_pb2.Record], start_index: int
    ) -> list[ingest_pb2.RecordResult]:
        to_dict = converters.record_to_dict
        return await self.ingest.apply(lambda: [to_dict(r) for r in records], _results(start_index))

    async def _ingest_batches(
        self, messages: Sequence[ingest_pb2.RecordBatch], start_index: int
    ) -> list[ingest_pb2.RecordBatchResult]:
        def decode() -> list[RawRecord]:
            to_dict = converters.record_to_dict
            return [to_dict(r) for m in messages for r in m.records]

        def encode(prepared: Sequence[Prepared], outcomes: Sequence[Outcome]) -> list[ingest_pb2.RecordBatchResult]:
            fill = _fill_result
            answers: list[ingest_pb2.RecordBatchResult] = []
            position = 0
            for message in messages:
                answer = ingest_pb2.RecordBatchResult()
                add = answer.results.add
                for _ in range(len(message.records)):
                    fill(add(), start_index + position, prepared[position], outcomes[position])
                    position += 1
                answers.append(answer)
            return answers

        return await self.ingest.apply(decode, encode)

    # -- RPCs ------------------------------------------------------------------------------

    async def SubmitRecord(
        self, request: ingest_pb2.SubmitRecordRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.RecordResult:
        if not request.HasField("record"):
            raise InvalidArgument(FieldViolation("record", "is required", "REQUIRED"))
        result = (await self._ingest_records([request.record], 0))[0]
        if _refused(result):
            raise AccountErased(
                "the record's account is erased: nothing was stored; it is accepted again once the account is"
                " reactivated",
                metadata={"field": "record.customer_id"},
            )
        if result.status == ingest_pb2.RECORD_STATUS_REJECTED:
            raise InvalidArgument(
                reported([FieldViolation("record." + v.field, v.description, v.reason) for v in result.violations]),
                message=f"record rejected and quarantined as {result.quarantine_id}",
            )
        return result

    async def IngestRecords(
        self, request_iterator: AsyncIterator[ingest_pb2.Record], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.RecordResult]:
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
                results = await self._ingest_records(batch, index)
                index += len(batch)
                for result in results:
                    yield result
        finally:
            if not reader.done():
                reader.cancel()

    async def IngestRecordBatches(
        self, request_iterator: AsyncIterator[ingest_pb2.RecordBatch], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ingest_pb2.RecordBatchResult]:
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
                    for answer in await self._ingest_batches(messages, index):
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
        checked = checks.list_quarantine(request)
        with self.audit.recording("quarantine.list") as note:
            page = await self.quarantine.list_page(
                checked.filter,
                checked.after,
                checked.size,
                encode=converters.quarantine_entry_pb,
                cost=_message_cost,
                budget=self._page_bytes(),
            )
            note.add(e.record.customer_id for e in page.entries if e.record.customer_id)
            note.detail = f"entries={len(page.entries)} include_resolved={request.include_resolved}"
        token = ""
        if page.resume_after is not None:
            token = paging.encode_token(checks.quarantine_scope(checked.filter), checks.page_key(*page.resume_after))
        return ingest_pb2.ListQuarantineResponse(
            entries=page.entries, page=common_pb2.PageResponse(next_page_token=token, total_count=page.total)
        )

    async def ReplayQuarantine(
        self, request: ingest_pb2.ReplayQuarantineRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ReplayQuarantineResponse:
        plan = checks.replay_quarantine(request, self.settings.replay_max_records)
        with self.audit.recording("quarantine.replay") as note:
            note.detail = f"ids={len(request.quarantine_ids)} corrections={len(request.corrections)}"
            done = await self.quarantine.replay(
                plan, _stored_record, encode=_result_pb, cost=_message_cost, budget=self._page_bytes()
            )
            note.detail += f" moved={done.moved} still_rejected={done.still_rejected}"
        return ingest_pb2.ReplayQuarantineResponse(
            results=done.results, moved=done.moved, still_rejected=done.still_rejected, results_omitted=done.omitted
        )

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
        """Pages of the log after the request's cursor; in follow mode waits for more.

        Peers (role service) read the log all day and are not audited; anyone else reading
        it (it carries personal data as received) is, once the stream ends.
        """
        checks.read_log(request)
        pages = self.log.pages(request.after_sequence, request.limit, request.follow, encode=_log_entry)
        if call_context.caller_role() == "service":
            async for page in pages:
                yield page
            return
        with self.audit.recording("log.read") as note:
            entries = 0
            note.detail = f"after_sequence={request.after_sequence} follow={request.follow} entries=0"
            async for page in pages:
                entries += len(page)
                note.add(e.record.customer_id for e in page)
                note.detail = f"after_sequence={request.after_sequence} follow={request.follow} entries={entries}"
                yield page

    async def ApplyErasure(
        self, request: common_pb2.ApplyErasureRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.ApplyErasureResponse:
        """Erase the account's personal data in the log and the quarantine and refuse its later
        records (usecases/erasure.py); a repeat answers the first application's result."""
        check_apply_request(request.erasure_id, request.customer_id)  # before the trail keeps the id
        with self.audit.recording("customer.erase", [request.customer_id]) as note:
            note.detail = f"erasure_id={request.erasure_id[:64]} purge_facts={request.purge_facts}"
            erasure = await self.erasures.apply(request.erasure_id, request.customer_id)
            counts = " ".join(f"{k}={v}" for k, v in sorted(erasure.removed.items()))
            note.detail += f" repeated={erasure.repeated} {counts}"
        return common_pb2.ApplyErasureResponse(
            customer_id=erasure.customer_id, removed=erasure.removed, erased_at=to_timestamp(erasure.erased_at)
        )

    async def LiftErasure(
        self, request: common_pb2.LiftErasureRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.LiftErasureResponse:
        """Lift the account's tombstone (the admin's reactivation, sent by profile); its records
        are accepted again. Entries blanked by the erasure stay blanked."""
        check_lift_request(request.customer_id, request.reason)
        # The reason is free text from the request: it stays off the trail (profile keeps it).
        with self.audit.recording("customer.reactivate", [request.customer_id]) as note:
            lifted = await self.erasures.lift(request.customer_id, request.reason)
            note.detail = f"lifted={lifted}"
        return common_pb2.LiftErasureResponse(customer_id=request.customer_id, lifted=lifted)

    async def GetIngestStats(
        self, request: ingest_pb2.GetIngestStatsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.IngestStats:
        return converters.stats_pb(await self.stats.get())


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
