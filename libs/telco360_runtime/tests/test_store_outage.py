"""A store that is down answers UNAVAILABLE naming the database, health follows it, and the
service recovers by itself; critical workers report themselves into health.

The outage is real: a private PostgreSQL cluster (conftest.private_postgres) stopped and
started under a running service. SQLite's "locked" and other store errors are classified
with real sqlite3 / PostgreSQL errors.
"""

from __future__ import annotations

import asyncio
import pathlib
import threading
import time

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from telco360_runtime.db import DATABASE, Database, unavailable_error
from telco360_runtime.status import rich_status

from .conftest import raw_service

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
HANG_GUARD_S = 60.0  # only stops a broken test from hanging; never a performance bound


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    for detail in rich_status(error.trailing_metadata()).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo")


async def health_of(channel: grpc.aio.Channel, name: str = "") -> int:
    return (await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name))).status


async def wait_health(channel: grpc.aio.Channel, wanted: int, names=("", "test.Store")) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while [await health_of(channel, n) for n in names] != [wanted] * len(names):
        assert time.monotonic() < deadline, f"health never became {wanted}"
        await asyncio.sleep(0.05)


async def test_a_stopped_database_answers_unavailable_and_health_recovers_by_itself(
    start_service, private_postgres, log_capture
) -> None:
    db = Database(private_postgres.url, workers=2)
    meta = sa.MetaData()
    things = sa.Table("things", meta, sa.Column("id", sa.Integer, primary_key=True))
    meta.create_all(db.engine)

    def count() -> int:
        with db.session() as session:
            return session.execute(sa.select(sa.func.count()).select_from(things)).scalar_one()

    async def handler(request: bytes, ctx) -> bytes:
        return str(await db.run(count)).encode()

    service = await start_service([raw_service("test.Store", {"Count": handler})], store_probe_seconds=0.1)
    service.watch_database(db)
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            assert await channel.unary_unary("/test.Store/Count")(b"") == b"0"
            await wait_health(channel, SERVING)

            private_postgres.stop()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await channel.unary_unary("/test.Store/Count")(b"", metadata=(("x-request-id", "req-down"),))
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "database" in err.value.details()
            info = error_info(err.value)
            assert info.reason == "DEPENDENCY_UNAVAILABLE" and info.metadata["dependency"] == DATABASE
            await wait_health(channel, NOT_SERVING)
            assert service.health_state.problems.keys() == {"database"}

            private_postgres.start()
            await wait_health(channel, SERVING)  # no restart of the service
            assert await channel.unary_unary("/test.Store/Count")(b"") == b"0"
    finally:
        await service.stop(0)
        db.dispose()
    records = log_capture.records()
    [down] = [r for r in records if r.get("event") == "rpc" and r.get("request_id") == "req-down"]
    assert down["code"] == "UNAVAILABLE"
    assert not [r for r in records if r.get("event") == "unhandled_error"]
    changes = [(r["event"], r["problem"]) for r in records if r.get("event", "").startswith("health_problem")]
    assert ("health_problem", "database") in changes and changes[-1] == ("health_problem_cleared", "database")


async def test_critical_workers_report_into_health(start_service) -> None:
    service = await start_service([raw_service("test.Store", {})])
    async with grpc.aio.insecure_channel(service.address) as channel:
        await wait_health(channel, SERVING)
        # From a worker thread, as contact's group-commit thread would.
        worker = threading.Thread(target=service.report_worker, args=("group-commit", False))
        worker.start()
        worker.join()
        await wait_health(channel, NOT_SERVING)
        service.report_worker("journal", False)
        service.report_worker("group-commit", True)
        await wait_health(channel, NOT_SERVING)  # one critical worker is still down
        assert service.health_state.problems.keys() == {"worker:journal"}
        service.report_worker("journal", True)
        await wait_health(channel, SERVING)


async def test_a_worker_reported_dead_before_start_keeps_health_not_serving(start_service) -> None:
    from telco360_runtime.server import GrpcService
    from telco360_runtime.settings import ServiceSettings

    service = GrpcService(ServiceSettings(port=0), [raw_service("test.Store", {})])
    service.report_worker("consumer", False)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            await wait_health(channel, NOT_SERVING)
            service.report_worker("consumer", True)
            await wait_health(channel, SERVING)
    finally:
        await service.stop(0)


def test_sqlite_locked_past_its_busy_timeout_is_unavailable(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    holder = sa.create_engine(url)
    waiter = sa.create_engine(url, connect_args={"timeout": 0})
    with holder.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
        conn.commit()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        with waiter.connect() as other, pytest.raises(sa.exc.OperationalError) as err:
            other.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.rollback()
    assert "locked" in str(err.value)
    assert unavailable_error(err.value).dependency == DATABASE
    # Raised from it (a store wrapping the error) still counts.
    try:
        raise RuntimeError("could not save") from err.value
    except RuntimeError as wrapped:
        assert unavailable_error(wrapped) is not None
    holder.dispose()
    waiter.dispose()


def test_statement_and_data_errors_are_not_an_outage(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        for bad in ("SELECT * FROM no_such_table", "SELEC 1"):
            with pytest.raises(sa.exc.DBAPIError) as err:
                conn.exec_driver_sql(bad)
            conn.rollback()
            assert unavailable_error(err.value) is None, bad
    engine.dispose()
    assert unavailable_error(ValueError("x")) is None


def test_an_unreachable_postgresql_server_is_unavailable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    engine = sa.create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    with pytest.raises(sa.exc.OperationalError) as err:
        engine.connect()
    assert unavailable_error(err.value).dependency == DATABASE
    engine.dispose()
