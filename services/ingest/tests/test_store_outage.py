"""With its database down, every ingest RPC answers UNAVAILABLE (never INTERNAL) and ingest
recovers by itself once the database is back.

The outage is real: a private PostgreSQL cluster (never the shared test server) is stopped
under a running ingest server. Ingest's own paths are covered, not only the runtime's
mapping: the batch writer's raw executemany on the driver cursor, the stream commit loops
(IngestRecords, IngestRecordBatches), the paged quarantine reads, ReadLog, and the importer.
"""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from services.ingest.api.importer import import_file
from services.ingest.app import build_service
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from services.ingest.tests.conftest import Running
from services.ingest.tests.samples import billing
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_imports.mapping import parse_mapping
from telco360_runtime.db import Database
from telco360_runtime.testing_pg import PrivatePostgres

HANG_GUARD_S = 60.0  # only stops a broken test from hanging; never a performance bound


@pytest.fixture
def cluster(private_postgres: PrivatePostgres) -> PrivatePostgres:
    """The private cluster ingest runs on (the root conftest's fixture)."""
    return private_postgres


@pytest.fixture
async def on_cluster(cluster: PrivatePostgres) -> AsyncIterator[Running]:
    migrate_store(cluster.url)
    db = Database(cluster.url, workers=2)
    settings = IngestSettings(port=0, host="127.0.0.1", database_url=cluster.url, log_poll_seconds=0.2)
    service = build_service(settings, db)
    await service.start()
    channel = grpc.aio.insecure_channel(service.address)
    try:
        yield Running(service.address, ingest_pb2_grpc.IngestServiceStub(channel), cluster.url)
    finally:
        await channel.close()
        await service.stop(0)
        db.dispose()


async def _code(call) -> grpc.StatusCode:
    try:
        result = call
        if hasattr(result, "__aiter__"):
            [m async for m in result]
        else:
            await result
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_every_rpc_answers_unavailable_while_the_database_is_down(
    on_cluster: Running, cluster: PrivatePostgres, tmp_path: pathlib.Path
) -> None:
    stub = on_cluster.stub
    first = await stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(1)))
    bad = [r async for r in stub.IngestRecords(iter([billing(2, fee_fen=-1)]))]
    assert first.sequence == 1 and bad[0].quarantine_id

    cluster.stop()
    calls = {
        "SubmitRecord": lambda: stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(3))),
        "IngestRecords": lambda: stub.IngestRecords(iter([billing(4), billing(5)])),
        "IngestRecordBatches": lambda: stub.IngestRecordBatches(
            iter([ingest_pb2.RecordBatch(records=[billing(6), billing(7)])])
        ),
        "ListQuarantine": lambda: stub.ListQuarantine(ingest_pb2.ListQuarantineRequest()),
        "ReplayQuarantine": lambda: stub.ReplayQuarantine(
            ingest_pb2.ReplayQuarantineRequest(quarantine_ids=[bad[0].quarantine_id])
        ),
        "ReadLog": lambda: stub.ReadLog(ingest_pb2.ReadLogRequest()),
        "ReadLogBatches": lambda: stub.ReadLogBatches(ingest_pb2.ReadLogRequest()),
        "GetIngestStats": lambda: stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest()),
    }
    codes = {name: await _code(call()) for name, call in calls.items()}
    assert codes == {name: grpc.StatusCode.UNAVAILABLE for name in calls}

    # The importer reports the outage as such (its CLI prints the code and exits 2).
    data = tmp_path / "rows.csv"
    data.write_text("id,cust\nX1,C-1\n", encoding="utf-8")
    mapping = parse_mapping(
        {
            "kind": "lifecycle",
            "fields": {
                "source": {"value": "crm"},
                "source_record_id": "id",
                "customer_id": "cust",
                "occurred_at": {"value": "2024-01-01"},
                "lifecycle.action": {"value": "REACTIVATED"},
            },
        }
    )
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(import_file, data, mapping, on_cluster.address, show_progress=False)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE

    # Back again: ingest recovers without a restart (a dead pooled connection may cost
    # one more UNAVAILABLE, never an INTERNAL).
    cluster.start()
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        try:
            result = await stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=billing(3)))
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert time.monotonic() < deadline, "ingest never recovered"
            await asyncio.sleep(0.1)
    assert result.status == ingest_pb2.RECORD_STATUS_ACCEPTED and result.sequence == 2
    stats = await stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    assert stats.log_entries == 2 and stats.quarantined == 1
