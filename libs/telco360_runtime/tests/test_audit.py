"""The shared audit trail: entries carry the call's caller, are buffered and listed with filters,
and ListAuditEntries (admin only) validates its filters and pages newest first."""

from __future__ import annotations

import datetime as dt
import json

import grpc
import pytest
from sqlalchemy import MetaData

from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360_runtime import audit_api, context
from telco360_runtime.access import allow
from telco360_runtime.audit import ACCOUNT_IDS_MAX, DROPPED, AuditTrail, audit_table
from telco360_runtime.db import Database
from telco360_runtime.errors import NotFound
from telco360_runtime.status import field_violations
from telco360_runtime.timeconv import to_timestamp

from .conftest import raw_service

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
TOKENS = {"tok-admin": "admin:root-1", "tok-cc": "call_center:agent-7", "tok-an": "analyst:ana-2"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


@pytest.fixture
def trail(db_url):
    db = Database(db_url, workers=2)
    metadata = MetaData()
    table = audit_table(metadata)
    metadata.create_all(db.engine)
    trail = AuditTrail(db, table, clock=Clock())
    yield trail
    trail.close()
    db.dispose()


def in_call(fn, *, role: str, subject: str, method: str = "/test.Svc/Do", request_id: str = "rid-1"):
    """Run `fn` as inside a call of `subject` (`role`)."""

    def body():
        context.bind(request_id, method, None)
        context.set_caller(role, subject)
        return fn()

    return context.detached_context().run(body)


def test_an_entry_names_the_caller_method_and_request(trail) -> None:
    in_call(lambda: trail.record("customer360.read", ["C1"], "view=account"), role="analyst", subject="ana-2")
    [entry] = trail.list()
    assert (entry.method, entry.action, entry.subject, entry.role, entry.request_id) == (
        "/test.Svc/Do",
        "customer360.read",
        "ana-2",
        "analyst",
        "rid-1",
    )
    assert entry.account_ids == ("C1",) and entry.account_count == 1
    assert entry.detail == "view=account" and entry.outcome == "OK"
    assert entry.at.tzinfo is not None and entry.at > T0


def test_many_accounts_are_capped_and_counted(trail) -> None:
    ids = [f"C{i}" for i in range(ACCOUNT_IDS_MAX + 50)]
    in_call(lambda: trail.record("features.export", ids), role="analyst", subject="ana-2")
    in_call(lambda: trail.record("segment.query", ["C1"], count=5000), role="analyst", subject="ana-2")
    query, export = trail.list()
    assert len(export.account_ids) == ACCOUNT_IDS_MAX and export.account_count == ACCOUNT_IDS_MAX + 50
    assert query.account_count == 5000


def test_recording_keeps_the_outcome_of_a_failed_operation(trail) -> None:
    def failing():
        with trail.recording("customer360.read", ["C404"]) as note:
            note.detail = "view=group"
            raise NotFound("customer", "C404")

    with pytest.raises(NotFound):
        in_call(failing, role="call_center", subject="agent-7")

    def adding():
        with trail.recording("features.export") as note:
            note.add(["C1", "C2"])
            note.count = 10

    in_call(adding, role="analyst", subject="ana-2")
    export, failed = trail.list()
    assert (failed.outcome, failed.detail, failed.account_ids) == ("NOT_FOUND", "view=group", ("C404",))
    assert (export.outcome, export.account_ids, export.account_count) == ("OK", ("C1", "C2"), 10)


def test_list_filters_by_exact_account_subject_and_time(trail) -> None:
    in_call(lambda: trail.record("a", ["C1", "C10"]), role="analyst", subject="ana-2")  # T0+1
    in_call(lambda: trail.record("b", ["C10"]), role="call_center", subject="agent-7")  # T0+2
    in_call(lambda: trail.record("c", ['we"ird_%\\id']), role="call_center", subject="agent-7")  # T0+3
    in_call(lambda: trail.record("d", ["C1_"]), role="admin", subject="root-1")  # T0+4
    assert [e.action for e in trail.list(account_id="C1")] == ["a"]
    assert [e.action for e in trail.list(account_id="C10")] == ["b", "a"]
    assert [e.action for e in trail.list(account_id='we"ird_%\\id')] == ["c"]
    assert [e.action for e in trail.list(account_id="C1_")] == ["d"]
    assert [e.action for e in trail.list(subject="agent-7")] == ["c", "b"]
    since, until = T0 + dt.timedelta(minutes=2), T0 + dt.timedelta(minutes=4)
    assert [e.action for e in trail.list(since=since, until=until)] == ["c", "b"]
    newest = trail.list()[0]
    assert [e.action for e in trail.list(before_id=newest.id, limit=2)] == ["c", "b"]


def test_the_writer_flushes_in_the_background_and_at_close(db_url) -> None:
    db = Database(db_url, workers=2)
    metadata = MetaData()
    table = audit_table(metadata)
    metadata.create_all(db.engine)
    trail = AuditTrail(db, table, batch_size=2, flush_seconds=0.05)
    trail.start()
    try:
        for i in range(5):
            in_call(lambda i=i: trail.record("x", [f"C{i}"]), role="analyst", subject="ana-2")
        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while trail.pending and dt.datetime.now() < deadline:
            pass
        assert trail.pending == 0
        in_call(lambda: trail.record("last", ["C9"]), role="analyst", subject="ana-2")
    finally:
        trail.close()
    with db.session() as session:
        actions = [row.action for row in session.execute(table.select().order_by(table.c.id))]
    assert actions == ["x"] * 5 + ["last"]
    db.dispose()


def test_a_full_buffer_counts_its_losses_on_the_trail(trail) -> None:
    small = AuditTrail(trail.db, trail.table, capacity=3)
    for i in range(5):
        in_call(lambda i=i: small.record("x", [f"C{i}"]), role="analyst", subject="ana-2")
    entries = small.list()
    assert [e.action for e in entries] == [DROPPED, "x", "x", "x"]
    assert entries[0].detail.startswith("2 entries dropped")


# --- the RPC ----------------------------------------------------------------------------------


def _recorder(trail: AuditTrail):
    async def record(request: bytes, ctx) -> bytes:
        ids = json.loads(request or b"[]")
        trail.record("thing.read", ids, "test")
        return b""

    return raw_service("test.Things", {"Read": record}, {"Read": allow("call_center", "analyst")})


async def _read(channel, token: str, ids: list[str]) -> None:
    call = channel.unary_unary("/test.Things/Read")
    await call(json.dumps(ids).encode(), metadata=(("authorization", f"Bearer {token}"),))


def _list(channel, token: str = "tok-admin", **fields):
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    return stub.ListAuditEntries(
        audit_pb2.ListAuditEntriesRequest(**fields), metadata=(("authorization", f"Bearer {token}"),)
    )


async def test_list_audit_entries_over_grpc_pages_newest_first(start_service, trail) -> None:
    service = await start_service([_recorder(trail), audit_api.registration(trail)], auth_tokens=TOKENS)
    async with grpc.aio.insecure_channel(service.address) as channel:
        for i in range(5):
            await _read(channel, "tok-cc", [f"C{i}"])
        await _read(channel, "tok-an", ["C1"])

        first = await _list(channel, page=common_pb2.PageRequest(page_size=2))
        assert [e.account_ids[0] for e in first.entries] == ["C1", "C4"]
        newest = first.entries[0]
        assert (newest.method, newest.action, newest.subject, newest.role, newest.outcome) == (
            "/test.Things/Read",
            "thing.read",
            "ana-2",
            "analyst",
            "OK",
        )
        assert newest.request_id and newest.account_count == 1 and first.page.total_count == -1
        seen = list(first.entries)
        token = first.page.next_page_token
        while token:
            page = await _list(channel, page=common_pb2.PageRequest(page_size=2, page_token=token))
            seen.extend(page.entries)
            token = page.page.next_page_token
        assert [e.account_ids[0] for e in seen] == ["C1", "C4", "C3", "C2", "C1", "C0"]
        assert len({e.id for e in seen}) == 6

        by_caller = await _list(channel, subject="agent-7")
        assert [e.account_ids[0] for e in by_caller.entries] == ["C4", "C3", "C2", "C1", "C0"]
        by_account = await _list(channel, account_id="C1")
        assert [e.subject for e in by_account.entries] == ["ana-2", "agent-7"]
        middle = seen[2].at
        by_time = await _list(channel, until=middle)
        assert [e.account_ids[0] for e in by_time.entries] == ["C2", "C1", "C0"]
        by_time = await _list(channel, since=middle, until=seen[0].at)
        assert [e.account_ids[0] for e in by_time.entries] == ["C4", "C3"]


async def test_list_audit_entries_is_admin_only(start_service, trail) -> None:
    service = await start_service([_recorder(trail), audit_api.registration(trail)], auth_tokens=TOKENS)
    async with grpc.aio.insecure_channel(service.address) as channel:
        for token in ("tok-cc", "tok-an"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await _list(channel, token)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_filters_answer_invalid_argument_by_field(start_service, trail) -> None:
    service = await start_service([audit_api.registration(trail)], auth_tokens=TOKENS)
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _list(
                channel,
                account_id="C" * 65,
                subject="s\x00",
                since=to_timestamp(T0),
                until=to_timestamp(T0),
                page=common_pb2.PageRequest(page_size=-1, page_token="not-a-token"),
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        fields = {v.field: v.reason for v in field_violations(err.value)}
        assert fields == {
            "account_id": "TOO_LONG",
            "subject": "BAD_FORMAT",
            "until": "OUT_OF_RANGE",
            "page.page_size": "OUT_OF_RANGE",
            "page.page_token": "BAD_FORMAT",
        }
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _list(channel, since=to_timestamp(dt.datetime(1800, 1, 1, tzinfo=dt.UTC)))
        assert [v.field for v in field_violations(err.value)] == ["since"]

        for i in range(3):
            in_call(lambda i=i: trail.record("x", [f"C{i}"]), role="analyst", subject="ana-2")
        first = await _list(channel, page=common_pb2.PageRequest(page_size=1))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            token = first.page.next_page_token
            await _list(channel, subject="ana-2", page=common_pb2.PageRequest(page_token=token))
        assert [(v.field, v.reason) for v in field_violations(err.value)] == [("page.page_token", "STALE")]
