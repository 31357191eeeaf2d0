"""Ingest benchmark: IngestRecords throughput against a raw SQLite insert, and ReadLog.

    .venv/bin/python -m bench.ingest.run [--records 30000] [--runs 5] [--accounts 400]

Each run starts a fresh ingest process (`python -m services.ingest`, SQLite, default
settings: WAL, synchronous=FULL) on loopback and measures, on the same records from the
seeded data generator (all record types, corrections and ~1 % bad records included):

1. IngestRecords: one message per record on one bidi stream; the server batches what has
   arrived into one transaction each and answers after commit.
2. IngestRecordBatches: the same records, 500 per message (what the importer uses).
3. Raw SQLite: executemany INSERT of the same rows (ids, customer, serialised record) into
   a bare table, 500 per committed transaction, same pragmas, in this process: the ceiling
   of the database itself.
4. ReadLog: the whole log streamed back one entry per message, and ReadLogBatches: the same
   log in pages (what profile follows), records/s.

Figures are medians over the runs; the ratio is ingest throughput / raw insert throughput.
The client runs in this process, the server in its own; both share the machine's cores.
The server's CPU time per record is reported too: on a shared machine wall-clock rates
depend on the load, CPU per record much less. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.testing import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_records(count: int, accounts: int) -> list[ingest_pb2.Record]:
    """`count` records in ingest order from the seeded generator (more months if needed)."""
    from telco360_datagen import generate

    months = 12
    while True:
        base = generate(accounts=accounts, months=months, seed=7, bad_record_share=0.01)
        records = []
        for record in base.records():
            records.append(record)
            if len(records) == count:
                return records
        months *= 2


def start_server(db_path: pathlib.Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "TELCO360_INGEST_PORT": str(port),
        "TELCO360_INGEST_HOST": "127.0.0.1",
        "TELCO360_INGEST_DATABASE_URL": f"sqlite:///{db_path}",
        "TELCO360_INGEST_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.ingest"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return process
            except grpc.RpcError:
                time.sleep(0.1)
    process.kill()
    raise RuntimeError("ingest did not start")


async def stream_records(addr: str, records: list[ingest_pb2.Record]) -> tuple[float, dict]:
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        statuses: dict[int, int] = {}
        start = time.perf_counter()
        async for result in stub.IngestRecords(iter(records)):
            statuses[result.status] = statuses.get(result.status, 0) + 1
        return len(records) / (time.perf_counter() - start), statuses


async def stream_batches(addr: str, records: list[ingest_pb2.Record], size: int = 500) -> float:
    batches = [ingest_pb2.RecordBatch(records=records[i : i + size]) for i in range(0, len(records), size)]
    async with grpc.aio.insecure_channel(addr, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        start = time.perf_counter()
        count = 0
        async for answer in stub.IngestRecordBatches(iter(batches)):
            count += len(answer.results)
        assert count == len(records)
        return count / (time.perf_counter() - start)


async def read_log(addr: str) -> tuple[float, int]:
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        start = time.perf_counter()
        count = 0
        async for _ in stub.ReadLog(ingest_pb2.ReadLogRequest()):
            count += 1
        return count / (time.perf_counter() - start), count


async def read_log_batches(addr: str) -> float:
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        start = time.perf_counter()
        count = 0
        async for page in stub.ReadLogBatches(ingest_pb2.ReadLogRequest()):
            count += len(page.entries)
        return count / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_sqlite(db_path: pathlib.Path, rows: list[tuple], size: int = 500) -> float:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "busy_timeout=30000",
        "temp_store=MEMORY",
        "cache_size=-65536",
    ):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(
        "CREATE TABLE log (sequence INTEGER PRIMARY KEY, source TEXT NOT NULL,"
        " source_record_id TEXT NOT NULL, customer_id TEXT NOT NULL, payload BLOB NOT NULL)"
    )
    start = time.perf_counter()
    for i in range(0, len(rows), size):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO log (sequence, source, source_record_id, customer_id, payload) VALUES (?, ?, ?, ?, ?)",
            rows[i : i + size],
        )
        conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - start)
    conn.close()
    return rate


def one_run(records: list[ingest_pb2.Record], workdir: pathlib.Path, run: int) -> dict[str, float]:
    rows = [(i + 1, r.source, r.source_record_id, r.customer_id, r.SerializeToString()) for i, r in enumerate(records)]
    figures: dict[str, float] = {"raw_sqlite": raw_sqlite(workdir / f"raw-{run}.db", rows)}
    for name in ("records", "batches"):
        port = free_port()
        server = start_server(workdir / f"ingest-{run}-{name}.db", port)
        try:
            addr = f"127.0.0.1:{port}"
            cpu = cpu_seconds(server.pid)
            if name == "records":
                figures["ingest_records"], statuses = asyncio.run(stream_records(addr, records))
                figures["rejected"] = statuses.get(ingest_pb2.RECORD_STATUS_REJECTED, 0)
                figures["server_cpu_us_records"] = (cpu_seconds(server.pid) - cpu) / len(records) * 1e6
                cpu = cpu_seconds(server.pid)
                figures["read_log"], _ = asyncio.run(read_log(addr))
                figures["server_cpu_us_read_log"] = (cpu_seconds(server.pid) - cpu) / len(records) * 1e6
                cpu = cpu_seconds(server.pid)
                figures["read_log_batches"] = asyncio.run(read_log_batches(addr))
                figures["server_cpu_us_read_log_batches"] = (cpu_seconds(server.pid) - cpu) / len(records) * 1e6
            else:
                figures["ingest_batches"] = asyncio.run(stream_batches(addr, records))
                figures["server_cpu_us_batches"] = (cpu_seconds(server.pid) - cpu) / len(records) * 1e6
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON too")
    args = parser.parse_args()
    records = make_records(args.records, args.accounts)
    kinds: dict[str, int] = {}
    for record in records:
        kinds[record.WhichOneof("payload")] = kinds.get(record.WhichOneof("payload"), 0) + 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"records per run: {len(records)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for run in range(args.runs):
            figures = one_run(records, pathlib.Path(tmp), run)
            runs.append(figures)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in figures.items()))
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"\nmedian of {args.runs} runs (records/s):")
    print(
        f"  IngestRecords (1 record/message)   {median['ingest_records']:>10,.0f}"
        f"   ratio to raw insert {median['ingest_records'] / median['raw_sqlite']:.3f}"
    )
    print(
        f"  IngestRecordBatches (500/message)  {median['ingest_batches']:>10,.0f}"
        f"   ratio to raw insert {median['ingest_batches'] / median['raw_sqlite']:.3f}"
    )
    print(f"  raw SQLite executemany insert      {median['raw_sqlite']:>10,.0f}")
    print(f"  ReadLog (1 entry/message)          {median['read_log']:>10,.0f}")
    print(f"  ReadLogBatches (pages)             {median['read_log_batches']:>10,.0f}")
    print("server CPU per record (load-independent; 1e6 / it = records/s one free core sustains):")
    for key, label in (
        ("server_cpu_us_records", "IngestRecords"),
        ("server_cpu_us_batches", "IngestRecordBatches"),
        ("server_cpu_us_read_log", "ReadLog"),
        ("server_cpu_us_read_log_batches", "ReadLogBatches"),
    ):
        print(f"  {label:<34} {median[key]:>7.1f} us  (~{1e6 / median[key]:,.0f} records/s per core)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        print(json.dumps(median))


if __name__ == "__main__":
    main()
