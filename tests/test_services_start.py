"""Each service starts as a real process, reports SERVING, lists itself on reflection,
answers a malformed request with INVALID_ARGUMENT naming the field, and stops cleanly on
SIGTERM (exit code 0, store closed)."""

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
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from telco360_runtime.status import field_violations
from telco360_runtime.testing import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES = {
    "ingest": "telco360.ingest.v1.IngestService",
    "profile": "telco360.profile.v1.ProfileService",
    "scoring": "telco360.scoring.v1.ScoringService",
    "contact": "telco360.contact.v1.ContactService",
}


def start_process(name: str, tmp_path: pathlib.Path, port: int) -> subprocess.Popen:
    prefix = f"TELCO360_{name.upper()}_"
    env = {
        **os.environ,
        f"{prefix}PORT": str(port),
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}DATABASE_URL": f"sqlite:///{tmp_path / (name + '.db')}",
        # Peers point at a closed port: each service must start and serve without them.
        **{f"{prefix}{peer.upper()}_ADDR": "127.0.0.1:1" for peer in SERVICES if peer != name},
    }
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_serving(channel: grpc.Channel, timeout: float = 60.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("service did not report SERVING")
        time.sleep(0.2)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_process_serves_and_stops_cleanly(name: str, tmp_path: pathlib.Path) -> None:
    port = free_port()
    process = start_process(name, tmp_path, port)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            wait_serving(channel)
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(service=SERVICES[name]), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            listed = {s.name for answer in answers for s in answer.list_services_response.service}
            assert SERVICES[name] in listed
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        log = (tmp_path / f"{name}.log").read_text()
        assert '"event": "stopped"' in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_malformed_ingest_request_names_the_field(tmp_path: pathlib.Path) -> None:
    from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc

    port = free_port()
    process = start_process("ingest", tmp_path, port)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            wait_serving(channel)
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                stub.SubmitRecord(ingest_pb2.SubmitRecordRequest(record=ingest_pb2.Record(source="crm")), timeout=5)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            fields = {v.field for v in field_violations(err.value)}
            assert any("source_record_id" in f for f in fields), fields
    finally:
        process.terminate()
        process.wait(timeout=30)
