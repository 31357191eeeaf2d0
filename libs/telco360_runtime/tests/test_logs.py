"""Logs keep request values out of tracebacks and request ids inside their own call."""

from __future__ import annotations

import asyncio
import pathlib
import threading

import grpc
import pytest
import sqlalchemy as sa
import structlog

from telco360_runtime import context
from telco360_runtime.access import allow
from telco360_runtime.auth import ROLES
from telco360_runtime.db import Database
from telco360_runtime.logs import EXCEPTION_MESSAGE_MAX, TRACEBACK_MAX, VALUE_MAX, get_logger
from telco360_runtime.testing import wait_until

from .conftest import raw_service

BIG = 4 * 1024 * 1024  # the 3.9 MB request value of the issue


def lines(capture, event: str) -> list[dict]:
    return [r for r in capture.records() if r.get("event") == event]


async def test_tracebacks_of_internal_errors_carry_only_a_prefix_of_request_values(start_service, log_capture) -> None:
    async def crash(request: bytes, ctx) -> bytes:
        hidden = "LOCAL-" + request.decode()  # a local: never rendered
        try:
            {}[request.decode()]
        except KeyError as error:
            raise ValueError("bad value " + request.decode()) from error
        return hidden.encode()

    big_requests = {"Crash": allow(*ROLES, max_request_kb=2 * BIG // 1024)}
    service = await start_service([raw_service("test.Crash", {"Crash": crash}, big_requests)])
    value = "v" * BIG
    async with grpc.aio.insecure_channel(service.address, options=[("grpc.max_send_message_length", -1)]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Crash/Crash")(value.encode(), metadata=(("x-request-id", "req-big"),))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    raw = log_capture.getvalue()
    assert len(raw) < 4 * TRACEBACK_MAX
    [line] = lines(log_capture, "unhandled_error")
    exception = line["exception"]
    assert line["request_id"] == "req-big"
    assert "KeyError" in exception and "ValueError: bad value vvvv" in exception
    assert "The above exception was the direct cause" in exception
    assert f"({BIG + 10} characters)" in exception and f"({BIG + 2} characters)" in exception
    assert "LOCAL-" not in raw
    longest_run = max(len(run) for run in exception.replace("'", " ").split())
    assert longest_run <= EXCEPTION_MESSAGE_MAX + 20


async def test_database_errors_do_not_log_sql_parameters(start_service, log_capture, tmp_path: pathlib.Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    meta = sa.MetaData()
    things = sa.Table("things", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))
    meta.create_all(db.engine)

    def insert_twice(name: str) -> None:
        with db.write_session() as session:
            session.execute(things.insert().values(id=1, name=name))
            session.execute(things.insert().values(id=1, name=name))  # IntegrityError, quoting parameters

    async def store(request: bytes, ctx) -> bytes:
        await db.run(insert_twice, request.decode())
        return b""

    service = await start_service([raw_service("test.Store", {"Store": store})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Store/Store")(b"SECRET-NAME-" + b"n" * 100_000)
    db.dispose()
    assert err.value.code() == grpc.StatusCode.INTERNAL
    [line] = lines(log_capture, "unhandled_error")
    assert "IntegrityError" in line["exception"] and "SECRET-NAME" not in log_capture.getvalue()


def test_any_long_string_in_a_log_line_is_clipped(log_capture) -> None:
    get_logger().info("imported", source="s" * 1_000_000, count=3)
    [line] = lines(log_capture, "imported")
    assert len(line["source"]) < VALUE_MAX + 40 and line["count"] == 3


async def test_workers_started_during_a_call_never_log_its_request_id(start_service, log_capture) -> None:
    """A worker started lazily by the first call (contact's group commit, caches) lives on
    after it: its lines must carry no request id, while store calls carry the right one."""
    stop = threading.Event()
    tick = asyncio.Event()
    started: list[object] = []
    db = Database("sqlite://")

    def thread_worker() -> None:
        while not stop.wait(0.01):
            get_logger().info("thread_tick")

    async def task_worker() -> None:
        while True:
            await tick.wait()
            tick.clear()
            get_logger().info("task_tick")

    def store_call() -> str:
        get_logger().info("store_call")
        return context.request_id()

    async def work(request: bytes, ctx) -> bytes:
        if not started:
            started.append(context.start_thread(thread_worker, name="test-worker"))
            started.append(context.create_task(task_worker()))
        tick.set()
        return (await db.run(store_call)).encode()

    service = await start_service([raw_service("test.Work", {"Work": work})], name="worker-svc")
    async with grpc.aio.insecure_channel(service.address) as channel:
        for rid in ("req-1", "req-2", "req-3"):
            assert await channel.unary_unary("/test.Work/Work")(b"", metadata=(("x-request-id", rid),)) == rid.encode()
    ticked = ("thread_tick", "task_tick")
    await wait_until(lambda: all(lines(log_capture, e) for e in ticked), timeout=5, message="workers never ticked")
    stop.set()
    started[0].join()
    started[1].cancel()
    db.dispose()
    for event in ("thread_tick", "task_tick"):
        found = lines(log_capture, event)
        assert found, event
        assert all("request_id" not in r and "method" not in r for r in found), event
        assert all(r["service"] == "test" for r in found)
    assert [r["request_id"] for r in lines(log_capture, "store_call")] == ["req-1", "req-2", "req-3"]


def test_run_detached_drops_the_call_but_keeps_the_service(log_capture) -> None:
    tokens = context.bind("req-9", "/test.Log/Call", 5.0)
    structlog.contextvars.bind_contextvars(request_id="req-9", method="/test.X/Y")
    try:
        seen = context.run_detached(lambda: (context.request_id(), context.caller_role(), context.deadline()))
        assert seen == ("", context.NO_ROLE, None)  # detached work acts with no caller's role
        context.run_detached(lambda: get_logger().info("detached"))
        get_logger().info("attached")
        assert context.request_id() == "req-9"  # the caller's own context is untouched
    finally:
        structlog.contextvars.unbind_contextvars("request_id", "method")
        context.reset(tokens)
    [detached] = lines(log_capture, "detached")
    [attached] = lines(log_capture, "attached")
    assert "request_id" not in detached and detached["service"] == "test"
    assert attached["request_id"] == "req-9"
