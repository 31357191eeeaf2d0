"""Several worker processes on one port (telco360_runtime.workers), on the real ingest service.

`python -m services.ingest` runs as a real process tree with `TELCO360_INGEST_WORKERS=2`:
calls over many fresh channels get correct answers, they are served by more than one
process (the parent's metrics endpoint keeps one `telco360_worker_rpcs_handled` sample per
worker pid), SIGTERM stops every worker gracefully and leaves no process behind; a worker
that dies stops the replica with status 1; SIGKILL of the parent takes the workers with it.
On SQLite the default (`workers` unset) is one process.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ingest.tests.samples import billing
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.testing import free_port, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[3]
CHANNELS = 24
PER_CHANNEL = 5
WORKER_SAMPLE = re.compile(r"^telco360_worker_rpcs_handled\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)

pytestmark = pytest.mark.e2e


class Replica:
    """One `python -m services.ingest` process tree on a fresh port."""

    def __init__(self, url: str, tmp_path: pathlib.Path, workers: str | None) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        self.log = tmp_path / f"ingest-{self.port}.log"
        self.ready_event = "workers_serving" if workers not in (None, "1") else "started"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TELCO360_INGEST_")},
            "TELCO360_INGEST_PORT": str(self.port),
            "TELCO360_INGEST_HOST": "127.0.0.1",
            "TELCO360_INGEST_METRICS_PORT": str(self.metrics_port),
            "TELCO360_INGEST_DATABASE_URL": url,
            "TELCO360_INGEST_GRACE_SECONDS": "5",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if workers is not None:
            env["TELCO360_INGEST_WORKERS"] = workers
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.ingest"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def events(self, name: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == name]

    def children(self) -> set[int]:
        """Pids of the parent's live child processes."""
        found: set[int] = set()
        for task in pathlib.Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                found |= {int(pid) for pid in (task / "children").read_text().split()}
            except OSError:
                pass
        return found

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    def served_by(self) -> dict[int, float]:
        """RPCs handled per worker pid, from the parent's aggregated metrics."""
        counts: dict[int, float] = {}
        for match in WORKER_SAMPLE.finditer(self.metrics()):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
            counts[int(labels["pid"])] = float(match.group("value"))
        return counts

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def serving(address: str) -> bool:
    """One health check over a fresh channel."""
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


async def started(replica: Replica) -> None:
    def ready() -> bool:
        assert replica.process.poll() is None, replica.log.read_text()[-3000:]
        return bool(replica.events(replica.ready_event)) and serving(replica.address)

    await wait_until(ready, timeout=120, interval=0.2, message="ingest did not report SERVING")


def alive(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_two_workers_serve_one_port_and_stop_together(db_url: str, tmp_path: pathlib.Path) -> None:
    replica = Replica(db_url, tmp_path, workers="2")
    try:
        await started(replica)
        (serving_line,) = replica.events("workers_serving")
        workers = set(serving_line["pids"])
        children = replica.children()  # the workers and multiprocessing's resource tracker
        assert len(workers) == 2 and workers <= children, (workers, children)
        assert serving_line["port"] == replica.port

        # Many fresh channels (fresh connections, spread by SO_REUSEPORT), each its own batch.
        acknowledged: dict[str, int] = {}
        for c in range(CHANNELS):
            batch = [billing(c * PER_CHANNEL + i, fee_fen=100 + i) for i in range(PER_CHANNEL)]
            with grpc.insecure_channel(replica.address) as channel:
                results = list(ingest_pb2_grpc.IngestServiceStub(channel).IngestRecords(iter(batch), timeout=60))
            assert [r.status for r in results] == [ingest_pb2.RECORD_STATUS_ACCEPTED] * PER_CHANNEL
            acknowledged.update({r.source_record_id: r.sequence for r in results})
        total = CHANNELS * PER_CHANNEL
        assert sorted(acknowledged.values()) == list(range(1, total + 1)), "sequences are unique and gapless"
        with grpc.insecure_channel(replica.address) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            entries = list(stub.ReadLog(ingest_pb2.ReadLogRequest(), timeout=60))
            stats = stub.GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=10)
        assert {e.record.source_record_id: e.sequence for e in entries} == acknowledged
        assert stats.records == stats.log_entries == stats.last_sequence == total
        # Any worker answers a record another one logged: duplicates everywhere.
        for c in range(4):
            with grpc.insecure_channel(replica.address) as channel:
                again = list(
                    ingest_pb2_grpc.IngestServiceStub(channel).IngestRecords(
                        iter([billing(c, fee_fen=100 + c)]), timeout=30
                    )
                )
            assert [(r.status, r.sequence) for r in again] == [
                (ingest_pb2.RECORD_STATUS_DUPLICATE, acknowledged[f"b-{c}"])
            ]

        # Counters are summed over the workers: every call counted once. A call is counted
        # just after its answer left, so the last ones may take a moment to appear.
        def ingest_calls() -> float:
            summed = re.search(
                r'^telco360_rpc_requests_total\{code="OK",method="/telco360.ingest.v1.IngestService/IngestRecords",'
                r'service="ingest"\} (\S+)$',
                replica.metrics(),
                re.M,
            )
            return float(summed.group(1)) if summed else 0.0

        await wait_until(lambda: ingest_calls() >= CHANNELS + 4, timeout=10, message="calls not counted")
        assert ingest_calls() == CHANNELS + 4
        served = replica.served_by()
        assert set(served) <= workers
        assert len([pid for pid, n in served.items() if n > 0]) == 2, served
        assert sum(served.values()) >= CHANNELS + 4 + 2  # the ingest streams, ReadLog, stats (health checks too)

        assert replica.stop() == 0
        assert not any(alive(pid) for pid in workers), "a worker outlived its parent"
        # multiprocessing's resource tracker ends once its last user has gone.
        await wait_until(lambda: not any(alive(pid) for pid in children), timeout=10, message="a child outlived")
        stopped = {line.get("worker") for line in replica.events("stopped")}
        assert stopped == {0, 1}, "every worker stopped gracefully"
        assert replica.events("workers_stopped")[-1]["status"] == 0
    finally:
        replica.kill()


async def test_a_dead_worker_stops_the_replica_with_status_1(tmp_path: pathlib.Path) -> None:
    replica = Replica(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, workers="2")
    try:
        await started(replica)
        (leader, follower) = replica.events("workers_serving")[0]["pids"]
        os.kill(follower, signal.SIGKILL)
        assert replica.process.wait(timeout=60) == 1
        assert not alive(leader)
        (died,) = replica.events("worker_died")
        assert died["pid"] == follower and died["worker"] == 1
        assert [line.get("worker") for line in replica.events("stopped")] == [0], "the leader stopped gracefully"
    finally:
        replica.kill()


async def test_sigkill_of_the_parent_takes_the_workers_with_it(tmp_path: pathlib.Path) -> None:
    replica = Replica(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, workers="2")
    try:
        await started(replica)
        workers = replica.children()
        assert len(workers) >= 2
        replica.kill()
        await wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10, message="orphan workers")
        assert not replica.events("stopped"), "SIGKILL: no graceful stop, as for one process"
    finally:
        replica.kill()


async def test_sqlite_by_default_runs_one_process(tmp_path: pathlib.Path) -> None:
    replica = Replica(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, workers=None)
    try:
        await started(replica)
        assert replica.children() == set()
        (configured,) = replica.events("configuring")
        assert configured["workers"] == 1
        assert replica.events("workers_sqlite")[0]["workers"] == 1
        with grpc.insecure_channel(replica.address) as channel:
            results = list(ingest_pb2_grpc.IngestServiceStub(channel).IngestRecords(iter([billing(1)]), timeout=30))
        assert results[0].status == ingest_pb2.RECORD_STATUS_ACCEPTED
        # One process serves its own metrics: no per-pid samples.
        assert all("pid" not in m.group("labels") for m in WORKER_SAMPLE.finditer(replica.metrics()))
        assert replica.stop() == 0
    finally:
        replica.kill()
