"""Durability: SIGKILL the ingest process mid-stream; every acknowledged record survives once.

The service runs as a real process (`python -m services.ingest`) on each database.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ingest.tests.samples import billing
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.testing import free_port

ROOT = pathlib.Path(__file__).resolve().parents[3]
TOTAL = 3000
KILL_AFTER = 400


def _start(url: str, port: int, log: pathlib.Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "TELCO360_INGEST_PORT": str(port),
        "TELCO360_INGEST_HOST": "127.0.0.1",
        "TELCO360_INGEST_DATABASE_URL": url,
        "TELCO360_INGEST_BATCH_MAX_RECORDS": "50",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.ingest"], cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT
    )


def _wait_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while True:
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        assert time.monotonic() < deadline, "ingest did not become SERVING"
        time.sleep(0.1)


def _read_all(stub: ingest_pb2_grpc.IngestServiceStub) -> list[ingest_pb2.LogEntry]:
    return list(stub.ReadLog(ingest_pb2.ReadLogRequest(), timeout=60))


@pytest.mark.e2e
def test_sigkill_mid_stream_loses_and_doubles_nothing(db_url: str, tmp_path: pathlib.Path) -> None:
    records = [billing(i, fee_fen=100 + i) for i in range(TOTAL)]
    port = free_port()
    log = tmp_path / "ingest.log"
    process = _start(db_url, port, log)
    acknowledged: dict[str, int] = {}
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            _wait_serving(channel)
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                for result in stub.IngestRecords(iter(records), timeout=120):
                    assert result.status == ingest_pb2.RECORD_STATUS_ACCEPTED
                    acknowledged[result.source_record_id] = result.sequence
                    if len(acknowledged) == KILL_AFTER:
                        process.send_signal(signal.SIGKILL)
            assert err.value.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.CANCELLED,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.UNKNOWN,
            )
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert KILL_AFTER <= len(acknowledged) < TOTAL

        port = free_port()
        process = _start(db_url, port, log)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            _wait_serving(channel)
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            entries = _read_all(stub)
            ids = [e.record.source_record_id for e in entries]
            assert len(ids) == len(set(ids)), "a record was logged twice"
            assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
            logged = {e.record.source_record_id: e.sequence for e in entries}
            for record_id, sequence in acknowledged.items():
                assert logged.get(record_id) == sequence, record_id

            # Re-sending the whole batch completes it; acknowledged records are duplicates.
            results = list(stub.IngestRecords(iter(records), timeout=120))
            assert len(results) == TOTAL
            for result in results:
                assert result.status in (ingest_pb2.RECORD_STATUS_DUPLICATE, ingest_pb2.RECORD_STATUS_ACCEPTED)
                if result.source_record_id in logged:
                    assert result.status == ingest_pb2.RECORD_STATUS_DUPLICATE
                    assert result.sequence == logged[result.source_record_id]
            complete = _read_all(stub)
            assert len(complete) == TOTAL

            # And once more: nothing changes at all.
            results = list(stub.IngestRecords(iter(records), timeout=120))
            assert {r.status for r in results} == {ingest_pb2.RECORD_STATUS_DUPLICATE}
            stats = stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=10)
            assert stats.records == stats.log_entries == stats.last_sequence == TOTAL
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
