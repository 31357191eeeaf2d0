"""Integration tests of the ingest gRPC API against a real server and database."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.ingest.domain.records import KINDS
from services.ingest.tests.conftest import Running
from services.ingest.tests.samples import billing, record
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_runtime.status import field_violations
from telco360_runtime.testing import wait_until

ACCEPTED = ingest_pb2.RECORD_STATUS_ACCEPTED
DUPLICATE = ingest_pb2.RECORD_STATUS_DUPLICATE
CORRECTED = ingest_pb2.RECORD_STATUS_CORRECTED
REJECTED = ingest_pb2.RECORD_STATUS_REJECTED


async def stream(server: Running, records: list[ingest_pb2.Record]) -> list[ingest_pb2.RecordResult]:
    return [r async for r in server.stub.IngestRecords(iter(records))]


async def read_log(server: Running, after: int = 0, limit: int = 0) -> list[ingest_pb2.LogEntry]:
    request = ingest_pb2.ReadLogRequest(after_sequence=after, limit=limit)
    return [e async for e in server.stub.ReadLog(request)]


async def test_every_record_kind_is_accepted_over_grpc(server: Running) -> None:
    results = await stream(server, [record(kind, f"id-{kind}") for kind in KINDS])
    assert [r.status for r in results] == [ACCEPTED] * len(KINDS)
    assert [r.sequence for r in results] == list(range(1, len(KINDS) + 1))
    log = await read_log(server)
    assert [e.record.WhichOneof("payload") for e in log] == list(KINDS)
    assert all(e.version == 1 and e.ingested_at.seconds > 0 for e in log)


async def test_mixed_good_and_bad_stream_answers_every_record_in_order(server: Running) -> None:
    records = []
    for i in range(200):
        records.append(billing(i, fee_fen=-1 if i % 7 == 3 else 100 + i))
    results = await stream(server, records)
    assert [r.index for r in results] == list(range(200))
    assert [r.source_record_id for r in results] == [f"b-{i}" for i in range(200)]
    for i, result in enumerate(results):
        if i % 7 == 3:
            assert result.status == REJECTED and result.sequence == 0
            assert [v.field for v in result.violations] == ["billing.fee_fen"]
            assert result.violations[0].reason == "OUT_OF_RANGE" and result.quarantine_id
        else:
            assert result.status == ACCEPTED and result.version == 1
    sequences = [r.sequence for r in results if r.status == ACCEPTED]
    assert sequences == list(range(1, len(sequences) + 1))
    stats = await server.stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    assert stats.records == len(sequences) and stats.quarantined == 200 - len(sequences)
    assert stats.last_sequence == len(sequences) and stats.customers == 50


async def test_duplicates_and_corrections(server: Running) -> None:
    first = await stream(server, [billing(1), billing(2)])
    again = await stream(server, [billing(1), billing(2, fee_fen=777)])
    assert [r.status for r in again] == [DUPLICATE, CORRECTED]
    assert again[0].sequence == first[0].sequence and again[0].version == 1
    assert again[1].sequence == 3 and again[1].version == 2
    log = await read_log(server)
    assert [(e.sequence, e.version) for e in log] == [(1, 1), (2, 1), (3, 2)]
    assert log[2].record.billing.fee_fen == 777


async def test_normalisations_are_reported_and_logged(server: Running) -> None:
    rec = record("contact", "c-1", phone="138 0013 8000", email="Li.Wei@Example.com")
    [result] = await stream(server, [rec])
    assert result.status == ACCEPTED
    assert {n.field for n in result.normalisations} == {"contact.phone", "contact.email"}
    [entry] = await read_log(server)
    assert entry.record.contact.phone == "+8613800138000"
    assert entry.record.contact.email == "li.wei@example.com"


async def test_batched_stream(server: Running) -> None:
    batches = [ingest_pb2.RecordBatch(records=[billing(b * 100 + i) for i in range(100)]) for b in range(3)]
    batches[1].records[5].billing.fee_fen = -3
    answers = [a async for a in server.stub.IngestRecordBatches(iter(batches))]
    assert [len(a.results) for a in answers] == [100, 100, 100]
    flat = [r for a in answers for r in a.results]
    assert [r.index for r in flat] == list(range(300))
    assert flat[105].status == REJECTED
    assert sum(r.status == ACCEPTED for r in flat) == 299


async def test_submit_record(server: Running) -> None:
    result = await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(1)))
    assert result.status == ACCEPTED and result.sequence == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(2, -1)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.reason) for v in field_violations(err.value)] == [("record.billing.fee_fen", "OUT_OF_RANGE")]
    listing = await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())
    assert [e.record.source_record_id for e in listing.entries] == ["b-2"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest())
    assert [v.field for v in field_violations(err.value)] == ["record"]


async def test_list_quarantine_filters_and_pages(server: Running) -> None:
    records = [billing(i, fee_fen=-1, source="billing") for i in range(7)]
    records += [record("contact", f"c-{i}", source="crm", phone="999") for i in range(4)]
    await stream(server, records)
    list_q = server.stub.ListQuarantine
    by_source = await list_q(ingest_pb2.ListQuarantineRequest(source="crm"))
    assert len(by_source.entries) == 4 and by_source.page.total_count == 4
    assert all(e.violations[0].field == "contact.phone" for e in by_source.entries)
    by_reason = await list_q(ingest_pb2.ListQuarantineRequest(reason="OUT_OF_RANGE"))
    assert by_reason.page.total_count == 7
    by_field = await list_q(ingest_pb2.ListQuarantineRequest(reason="contact.phone"))
    assert by_field.page.total_count == 4
    seen: list[str] = []
    token = ""
    while True:
        page = await list_q(
            ingest_pb2.ListQuarantineRequest(page=common_pb2.PageRequest(page_size=3, page_token=token))
        )
        seen += [e.quarantine_id for e in page.entries]
        token = page.page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 11
    first = (await list_q(ingest_pb2.ListQuarantineRequest())).entries[0]
    later = await list_q(ingest_pb2.ListQuarantineRequest(received_after=first.received_at))
    assert later.page.total_count == 11
    earlier = await list_q(ingest_pb2.ListQuarantineRequest(received_before=first.received_at))
    assert earlier.page.total_count == 0


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"page": common_pb2.PageRequest(page_size=5000)}, "page.page_size"),
        ({"page": common_pb2.PageRequest(page_token="garbage!")}, "page.page_token"),
    ],
)
async def test_list_quarantine_rejects_bad_requests(server: Running, request_kwargs: dict, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest(**request_kwargs))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == [field]


async def test_replay_quarantine_with_ids_corrections_and_filter(server: Running) -> None:
    bad = [billing(i, fee_fen=-1) for i in range(4)]
    bad.append(record("contact", "c-1", phone="12"))
    results = await stream(server, bad)
    qids = [r.quarantine_id for r in results]

    # Replayed as stored: still bad, stays quarantined.
    replay = await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=[qids[0]]))
    assert replay.moved == 0 and replay.still_rejected == 1
    assert replay.results[0].status == REJECTED

    # Corrected payloads move into the log.
    fixed = ingest_pb2.QuarantineCorrection(quarantine_id=qids[0], record=billing(0, fee_fen=5))
    fixed_contact = ingest_pb2.QuarantineCorrection(
        quarantine_id=qids[4], record=record("contact", "c-1", phone="13800138000")
    )
    replay = await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(corrections=[fixed, fixed_contact]))
    assert replay.moved == 2 and [r.status for r in replay.results] == [ACCEPTED, ACCEPTED]
    open_entries = await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())
    assert len(open_entries.entries) == 3
    resolved = await server.stub.ListQuarantine(
        ingest_pb2.ListQuarantineRequest(include_resolved=True, reason="contact.phone")
    )
    assert resolved.entries[0].resolved and resolved.entries[0].resolved_sequence > 0

    # A correction must keep the record's identity.
    wrong = ingest_pb2.QuarantineCorrection(quarantine_id=qids[1], record=billing(99))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(corrections=[wrong]))
    assert [v.field for v in field_violations(err.value)] == ["corrections[0].record.source_record_id"]

    # Replay by filter re-validates every open entry matching it.
    replay = await server.stub.ReplayQuarantine(
        ingest_pb2.ReplayQuarantineRequest(filter=ingest_pb2.ListQuarantineRequest(reason="billing.fee_fen"))
    )
    assert len(replay.results) == 3 and replay.still_rejected == 3

    log = await read_log(server)
    assert [e.record.source_record_id for e in log] == ["b-0", "c-1"]


async def test_replay_rejects_unknown_and_malformed_ids(server: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=["x"]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["quarantine_ids[0]"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=["424242"]))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest())
    assert [v.field for v in field_violations(err.value)] == ["quarantine_ids"]


async def test_read_log_order_cursor_and_limit(server: Running) -> None:
    await stream(server, [billing(i) for i in range(120)])  # more than one page of 50
    log = await read_log(server)
    assert [e.sequence for e in log] == list(range(1, 121))
    assert [e.record.source_record_id for e in log] == [f"b-{i}" for i in range(120)]
    tail = await read_log(server, after=100)
    assert [e.sequence for e in tail] == list(range(101, 121))
    limited = await read_log(server, after=10, limit=55)
    assert [e.sequence for e in limited] == list(range(11, 66))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await read_log(server, after=-1)
    assert [v.field for v in field_violations(err.value)] == ["after_sequence"]


async def test_read_log_batches_pages_the_same_entries(server: Running) -> None:
    await stream(server, [billing(i) for i in range(120)])
    pages = [p async for p in server.stub.ReadLogBatches(ingest_pb2.ReadLogRequest(after_sequence=5))]
    assert [len(p.entries) for p in pages] == [50, 50, 15]  # the server's page size is 50
    assert [e for p in pages for e in p.entries] == await read_log(server, after=5)
    limited = [
        e.sequence
        async for p in server.stub.ReadLogBatches(ingest_pb2.ReadLogRequest(after_sequence=10, limit=55))
        for e in p.entries
    ]
    assert limited == list(range(11, 66))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in server.stub.ReadLogBatches(ingest_pb2.ReadLogRequest(limit=-1)):
            pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["limit"]


async def test_read_log_batches_follow_mode(server: Running) -> None:
    await stream(server, [billing(i) for i in range(3)])
    call = server.stub.ReadLogBatches(ingest_pb2.ReadLogRequest(after_sequence=1, follow=True))
    received: list[int] = []

    async def follow() -> None:
        async for page in call:
            assert page.entries, "pages are never empty"
            received.extend(e.sequence for e in page.entries)
            if len(received) >= 7:
                return

    follower = asyncio.create_task(follow())
    await wait_until(lambda: len(received) >= 2, timeout=10, message="the follower got no entries")
    await stream(server, [billing(i) for i in range(3, 8)])
    await asyncio.wait_for(follower, timeout=30)
    assert received == list(range(2, 9))
    call.cancel()


def test_pages_are_split_below_the_message_limit() -> None:
    from services.ingest.api.servicer import _split_by_size

    entries = [ingest_pb2.LogEntry(sequence=i, record=billing(i)) for i in range(1, 11)]
    size = entries[0].ByteSize()
    chunks = _split_by_size(entries, max_bytes=size * 3 + 1)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [e for c in chunks for e in c] == entries
    assert [len(c) for c in _split_by_size(entries, max_bytes=1)] == [1] * 10


async def test_read_log_follow_mode_streams_new_entries(server: Running) -> None:
    await stream(server, [billing(i) for i in range(3)])
    call = server.stub.ReadLog(ingest_pb2.ReadLogRequest(after_sequence=1, follow=True))
    received: list[int] = []

    async def follow() -> None:
        async for entry in call:
            received.append(entry.sequence)
            if len(received) == 12:
                return

    follower = asyncio.create_task(follow())
    await wait_until(lambda: len(received) >= 2, timeout=10, message="the follower got no entries")
    assert received == [2, 3]
    await stream(server, [billing(i) for i in range(3, 8)])
    await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(8)))
    await stream(server, [billing(i) for i in range(9, 13)])
    await asyncio.wait_for(follower, timeout=30)
    assert received == list(range(2, 14))
    call.cancel()


async def test_follow_mode_finds_entries_committed_by_another_replica(server: Running) -> None:
    """Entries written through another store on the same database arrive by polling."""
    from services.ingest.store import IngestStore
    from services.ingest.tests.samples import raw
    from services.ingest.usecases.ingest_records import ingest
    from telco360_runtime.db import Database

    call = server.stub.ReadLog(ingest_pb2.ReadLogRequest(follow=True))
    received: list[str] = []

    async def follow() -> None:
        async for entry in call:
            received.append(entry.record.source_record_id)
            if len(received) == 3:
                return

    follower = asyncio.create_task(follow())
    other = Database(server.url, workers=1)
    try:
        ingest(IngestStore(other), [raw("billing", f"o-{i}") for i in range(3)])
    finally:
        other.dispose()
    await asyncio.wait_for(follower, timeout=30)
    assert received == ["o-0", "o-1", "o-2"]
    call.cancel()
