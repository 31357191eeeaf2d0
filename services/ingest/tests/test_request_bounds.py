"""Request bounds of the ingest API on a real server (SQLite and PostgreSQL).

Every time, number, text, list and token a request carries is checked before any work and
answered INVALID_ARGUMENT naming the field; ListQuarantine pages and ReplayQuarantine
answers stay within their byte budget, and paging lists every entry exactly once.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import Phase, find
from hypothesis import settings as hypothesis_settings

from services.ingest.api.checks import page_key, quarantine_scope
from services.ingest.api.converters import dict_to_record
from services.ingest.app import build_service
from services.ingest.domain import limits
from services.ingest.domain.entries import QuarantineFilter
from services.ingest.domain.records import KINDS
from services.ingest.domain.violations import REPORTED_VIOLATIONS_MAX
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from services.ingest.tests.conftest import Running
from services.ingest.tests.samples import billing, raw, record
from services.ingest.tests.test_bounds import ALL_CASES, _bad_record
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime import bounds, paging
from telco360_runtime.db import Database
from telco360_runtime.status import field_violations

INT64 = 2**63 - 1
REJECTED = ingest_pb2.RECORD_STATUS_REJECTED
SMALL_PAGE_BYTES = 50_000


@pytest.fixture
async def small(db_url: str) -> AsyncIterator[Running]:
    """A server with small answers (page bytes) and small RecordBatch messages."""
    migrate_store(db_url)
    db = Database(db_url, workers=2)
    settings = IngestSettings(
        port=0,
        host="127.0.0.1",
        database_url=db_url,
        page_max_bytes=SMALL_PAGE_BYTES,
        record_batch_max=10,
        batch_max_records=16,
    )
    service = build_service(settings, db)
    await service.start()
    channel = grpc.aio.insecure_channel(service.address, options=[("grpc.max_send_message_length", 64 << 20)])
    try:
        yield Running(service.address, ingest_pb2_grpc.IngestServiceStub(channel), db_url)
    finally:
        await channel.close()
        await service.stop(0)
        db.dispose()


async def _invalid(call) -> list[tuple[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    return [(v.field, v.reason) for v in field_violations(err.value)]


def _token(key: str, flt: QuarantineFilter | None = None) -> str:
    """A page token of the quarantine listing with filter `flt` (telco360_runtime.paging format)."""
    return paging.encode_token(quarantine_scope(flt or QuarantineFilter()), key)


def _stamp(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


LIST_CASES = [
    ({"received_before": _stamp(INT64)}, [("received_before", "OUT_OF_RANGE")]),
    ({"received_after": _stamp(-(2**63))}, [("received_after", "OUT_OF_RANGE")]),
    ({"received_after": _stamp(bounds.LATEST_SECONDS)}, [("received_after", "OUT_OF_RANGE")]),
    ({"received_after": _stamp(1_700_000_000, -1)}, [("received_after", "OUT_OF_RANGE")]),
    ({"page": common_pb2.PageRequest(page_size=-1)}, [("page.page_size", "OUT_OF_RANGE")]),
    ({"page": common_pb2.PageRequest(page_size=-(2**31))}, [("page.page_size", "OUT_OF_RANGE")]),
    ({"page": common_pb2.PageRequest(page_token="x" * 100_000)}, [("page.page_token", "BAD_FORMAT")]),
    ({"page": common_pb2.PageRequest(page_token=_token("1:1")[:-2] + "７")}, [("page.page_token", "BAD_FORMAT")]),
    ({"source": "s" * 200_000}, [("source", "TOO_LONG")]),
    (
        {"reason": "r" * 300, "received_before": _stamp(INT64)},
        [("reason", "TOO_LONG"), ("received_before", "OUT_OF_RANGE")],
    ),
]


async def test_list_quarantine_bounds(server: Running) -> None:
    # One server for all cases (a server per case costs more than the cases).
    for kwargs, expected in LIST_CASES:
        request = ingest_pb2.ListQuarantineRequest(**kwargs)
        assert await _invalid(server.stub.ListQuarantine(request)) == expected
        # The same filter inside a replay names the field under `filter.`.
        replay = ingest_pb2.ReplayQuarantineRequest(filter=request)
        if "page" not in kwargs:  # a replay filter's paging is not used
            assert await _invalid(server.stub.ReplayQuarantine(replay)) == [("filter." + f, r) for f, r in expected]


async def test_full_width_page_token_digits_are_refused(server: Running) -> None:
    token = _token("１２３:４５")
    request = ingest_pb2.ListQuarantineRequest(page=common_pb2.PageRequest(page_token=token))
    assert await _invalid(server.stub.ListQuarantine(request)) == [("page.page_token", "BAD_FORMAT")]


async def test_page_tokens_of_the_suite_format_are_checked(server: Running) -> None:
    """Tokens follow telco360_runtime.paging: a keyset key, scoped to the listing's filter."""
    page = common_pb2.PageRequest
    beyond = paging.encode_token(quarantine_scope(QuarantineFilter()), page_key(2**63, 1))
    request = ingest_pb2.ListQuarantineRequest(page=page(page_token=beyond))
    assert await _invalid(server.stub.ListQuarantine(request)) == [("page.page_token", "BAD_FORMAT")]
    other = _token(page_key(1, 1), QuarantineFilter(source="crm"))
    request = ingest_pb2.ListQuarantineRequest(page=page(page_token=other))
    assert await _invalid(server.stub.ListQuarantine(request)) == [("page.page_token", "STALE")]
    request = ingest_pb2.ListQuarantineRequest(source="crm", page=page(page_token=other))
    answer = await server.stub.ListQuarantine(request)
    assert list(answer.entries) == [] and answer.page.next_page_token == ""


async def test_extreme_valid_times_are_answered(server: Running) -> None:
    request = ingest_pb2.ListQuarantineRequest(
        received_after=_stamp(bounds.EARLIEST_SECONDS), received_before=_stamp(bounds.LATEST_SECONDS - 1, 999_999_999)
    )
    answer = await server.stub.ListQuarantine(request)
    assert answer.page.total_count == 0


REPLAY_ID_CASES = [
    (["１２３"], "quarantine_ids[0]", "BAD_FORMAT"),
    (["-1"], "quarantine_ids[0]", "BAD_FORMAT"),
    (["9" * 19], "quarantine_ids[0]", "BAD_FORMAT"),
    (["1" * 100_000], "quarantine_ids[0]", "BAD_FORMAT"),
    ([str(i) for i in range(10_001)], "quarantine_ids", "TOO_MANY"),
]


async def test_replay_ids_bounds(server: Running) -> None:
    for ids, field, reason in REPLAY_ID_CASES:
        violations = await _invalid(
            server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=ids))
        )
        assert violations == [(field, reason)]
    corrections = [ingest_pb2.QuarantineCorrection(quarantine_id="1", record=billing(1))] * 1001
    assert await _invalid(
        server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(corrections=corrections))
    ) == [("corrections", "TOO_MANY")]


async def test_replay_reports_many_bad_ids_in_a_bounded_status(server: Running) -> None:
    ids = [f"x{i}" for i in range(500)]
    violations = await _invalid(server.stub.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(quarantine_ids=ids)))
    assert len(violations) == REPORTED_VIOLATIONS_MAX + 1
    assert violations[-1] == ("", "TOO_MANY")


async def test_read_log_bounds(server: Running) -> None:
    for kwargs, field in [
        ({"after_sequence": -1}, "after_sequence"),
        ({"after_sequence": -(2**63)}, "after_sequence"),
        ({"limit": -5}, "limit"),
    ]:
        request = ingest_pb2.ReadLogRequest(**kwargs)
        for call in (server.stub.ReadLog, server.stub.ReadLogBatches):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [m async for m in call(request)]
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert [(v.field, v.reason) for v in field_violations(err.value)] == [(field, "OUT_OF_RANGE")]


async def test_read_log_past_the_last_int64_is_empty_not_an_error(server: Running) -> None:
    await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(1)))
    request = ingest_pb2.ReadLogRequest(after_sequence=INT64, limit=INT64)
    assert [e async for e in server.stub.ReadLog(request)] == []


async def test_requests_over_the_methods_bound_are_refused_before_decoding(server: Running) -> None:
    # 3.9 MB of filter text (the case): the role table's 256 KiB bound answers first.
    request = ingest_pb2.ListQuarantineRequest(source="s" * 3_900_000)
    assert await _invalid(server.stub.ListQuarantine(request)) == [("request", "OUT_OF_RANGE")]
    huge = record("account", "big", name="名" * 1_300_000)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=huge))
    assert [(v.field, v.reason) for v in field_violations(err.value)] == [("request", "OUT_OF_RANGE")]
    assert len(err.value.details()) < 200
    assert (await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())).entries == []  # nothing kept


async def test_submit_record_with_huge_texts_answers_a_small_status(server: Running) -> None:
    # Under the method's 256 KiB bound, every text still over its own limit.
    huge = record(
        "account", "big", name="名" * 40_000, attributes={f"k{i}": {"string_value": "v" * 1500} for i in range(60)}
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=huge))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(err.value)
    assert ("record.account.name", "TOO_LONG") == (violations[0].field, violations[0].reason)
    assert len(violations) == REPORTED_VIOLATIONS_MAX + 1  # 61 violations, 20 listed
    assert sum(len(v.description) + len(v.field) for v in violations) < 8_000
    listed = await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())
    [entry] = listed.entries
    assert len(entry.record.account.name) == limits.QUARANTINE_TEXT_KEEP
    replay = await server.stub.ReplayQuarantine(
        ingest_pb2.ReplayQuarantineRequest(quarantine_ids=[entry.quarantine_id])
    )
    assert replay.still_rejected == 1 and replay.results[0].status == REJECTED


async def test_out_of_range_money_is_quarantined_and_good_records_flow(server: Running) -> None:
    records = [
        billing(0, fee_fen=INT64),
        billing(1),
        billing(2, fee_fen=bounds.MAX_MONEY_FEN),
        billing(3, fee_fen=bounds.MAX_MONEY_FEN + 1),
    ]
    results = [r async for r in server.stub.IngestRecords(iter(records))]
    assert [r.status for r in results] == [
        REJECTED,
        ingest_pb2.RECORD_STATUS_ACCEPTED,
        ingest_pb2.RECORD_STATUS_ACCEPTED,
        REJECTED,
    ]
    assert {(v.field, v.reason) for r in results for v in r.violations} == {("billing.fee_fen", "OUT_OF_RANGE")}
    log = [e async for e in server.stub.ReadLog(ingest_pb2.ReadLogRequest())]
    assert [e.record.source_record_id for e in log] == ["b-1", "b-2"]


async def test_a_record_batch_over_the_limit_ends_the_stream_before_its_work(small: Running) -> None:
    ok = ingest_pb2.RecordBatch(records=[billing(i) for i in range(3)])
    too_big = ingest_pb2.RecordBatch(records=[billing(i) for i in range(100, 111)])

    async def messages():
        yield ok
        yield too_big

    got: list[ingest_pb2.RecordBatchResult] = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for answer in small.stub.IngestRecordBatches(messages()):
            got.append(answer)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.reason) for v in field_violations(err.value)] == [("records", "TOO_MANY")]
    assert [len(a.results) for a in got] == [3]
    stats = await small.stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    assert stats.records == 3 and stats.quarantined == 0


def _bad_interaction(rng: random.Random, i: int) -> ingest_pb2.Record:
    """A rejected record of random size (an oversized note of 10-14 KB)."""
    return record(
        "interaction", f"i-{i}", notes="n" * rng.randint(10_001, 14_000), duration_minutes=rng.choice([10, 99_999])
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_list_quarantine_pages_by_bytes_list_every_entry_once(small: Running, seed: int) -> None:
    rng = random.Random(seed)
    records = [_bad_interaction(rng, i) for i in range(rng.randint(15, 30))]
    results = [r async for r in small.stub.IngestRecords(iter(records))]
    expected = sorted(r.quarantine_id for r in results)
    assert len(set(expected)) == len(records)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page_size = rng.choice([0, 1, 2, 5, 1000])
        page = await small.stub.ListQuarantine(
            ingest_pb2.ListQuarantineRequest(page=common_pb2.PageRequest(page_size=page_size, page_token=token))
        )
        pages += 1
        assert page.ByteSize() <= SMALL_PAGE_BYTES
        assert page.entries and page.page.total_count == len(records)
        assert len(page.entries) <= (page_size or 100)
        seen += [e.quarantine_id for e in page.entries]
        token = page.page.next_page_token
        if not token:
            break
    assert sorted(seen) == expected  # every entry exactly once
    assert pages > 1


async def test_list_quarantine_at_the_default_page_bytes(server: Running) -> None:
    # Each entry keeps 65 attributes of ~1,000 + ~1,000 characters (3 bytes each), about
    # 400 KB: twelve of them would be a 4.7 MB answer, over clients' 4 MiB limit.
    big = {f"{i:03d}" + "键" * 3000: {"string_value": "值" * 3000} for i in range(100)}
    records = [record("account", f"a-{i}", attributes=big) for i in range(12)]
    channel_results = [r async for r in server.stub.IngestRecords(iter(records))]
    assert all(r.status == REJECTED for r in channel_results)
    seen: list[str] = []
    token, pages = "", 0
    while True:
        page = await server.stub.ListQuarantine(
            ingest_pb2.ListQuarantineRequest(page=common_pb2.PageRequest(page_token=token))
        )
        assert page.ByteSize() <= bounds.PAGE_MAX_BYTES
        pages += 1
        seen += [e.quarantine_id for e in page.entries]
        token = page.page.next_page_token
        if not token:
            break
    assert pages >= 2 and sorted(seen) == sorted(r.quarantine_id for r in channel_results)


async def test_replay_answer_stays_within_the_page_bytes(small: Running) -> None:
    # 64 non-finite attributes each: one result carries 64 violations (about 5 KB).
    nan = {f"a{i}": {"number_value": float("nan")} for i in range(limits.ATTRIBUTES_MAX)}
    records = [record("account", f"i-{i}", attributes=nan) for i in range(40)]
    [r async for r in small.stub.IngestRecords(iter(records))]
    replay = await small.stub.ReplayQuarantine(
        ingest_pb2.ReplayQuarantineRequest(filter=ingest_pb2.ListQuarantineRequest(source="crm"))
    )
    assert replay.moved + replay.still_rejected == 40 and replay.still_rejected == 40
    assert replay.ByteSize() <= SMALL_PAGE_BYTES
    assert replay.results_omitted == 40 - len(replay.results) and replay.results_omitted > 0
    assert [r.source_record_id for r in replay.results] == [f"i-{i}" for i in range(len(replay.results))]


async def test_an_entry_stored_whole_before_the_cut_is_listed_cut(server: Running) -> None:
    [result] = [r async for r in server.stub.IngestRecords(iter([billing(1, fee_fen=-1)]))]
    # An entry as an older ingest stored it: the whole 3.9 MB text.
    legacy = {
        "source": "billing",
        "source_record_id": "b-1",
        "customer_id": "C-1",
        "occurred_at": {"seconds": 1_700_000_000},
        "billing": {"month": "2024-05", "usage_unit": "名" * 1_300_000, "fee_fen": -1},
    }
    engine = sa.create_engine(server.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE ingest_quarantine SET record = :r WHERE id = :i"),
            {"r": json.dumps(legacy, ensure_ascii=False), "i": int(result.quarantine_id)},
        )
    engine.dispose()
    [entry] = (await server.stub.ListQuarantine(ingest_pb2.ListQuarantineRequest())).entries
    assert len(entry.record.billing.usage_unit) == limits.QUARANTINE_TEXT_KEEP


async def test_every_bad_value_over_grpc_is_quarantined_beside_good_records(server: Running) -> None:
    # One value of each bad-value strategy (every value it draws is bad; no shrinking).
    once = hypothesis_settings(phases=[Phase.generate], database=None)
    bad = [(case, find(case[3], lambda _: True, settings=once)) for case in ALL_CASES]
    records, expected = [], []
    for i, (case, value) in enumerate(bad):
        records.append(dict_to_record(raw(KINDS[i % len(KINDS)], f"g-{i}")))
        expected.append(None)
        records.append(dict_to_record(_bad_record(case, value, f"x-{i}")))
        expected.append((case[2], case[4]))
    message = ingest_pb2.RecordBatch(records=records)
    [answer] = [a async for a in server.stub.IngestRecordBatches(iter([message]))]
    for result, want in zip(answer.results, expected, strict=True):
        if want is None:
            assert result.status == ingest_pb2.RECORD_STATUS_ACCEPTED, result
        else:
            assert result.status == REJECTED and result.quarantine_id
            assert want in [(v.field, v.reason) for v in result.violations], (want, result)
    [again] = [a async for a in server.stub.IngestRecordBatches(iter([message]))]
    assert [r.status for r in again.results] == [
        ingest_pb2.RECORD_STATUS_DUPLICATE if w is None else REJECTED for w in expected
    ]
    stats = await server.stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    assert stats.log_entries == len(bad) and stats.quarantined == len(bad)
