"""Fixtures for runtime tests: a real grpc.aio server with a raw-bytes test service, and a
private PostgreSQL cluster a test may stop and start (never the shared test server)."""

from __future__ import annotations

import asyncio
import glob
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
from typing import AsyncIterator, Awaitable, Callable, Iterator

import grpc
import pytest

from telco360_runtime.logs import configure_logging
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings

Behaviour = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]


def raw_service(name: str, methods: dict[str, Behaviour]) -> Registration:
    """A Registration for a service whose methods take and return raw bytes (no proto)."""
    def add(_servicer: object, server: grpc.aio.Server) -> None:
        handlers = {m: grpc.unary_unary_rpc_method_handler(fn) for m, fn in methods.items()}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    return Registration(add, object(), name)


class LogCapture(io.StringIO):
    """Collects JSON log lines written by structlog."""

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]


@pytest.fixture
def log_capture() -> LogCapture:
    capture = LogCapture()
    configure_logging("test", "DEBUG", stream=capture)
    yield capture
    configure_logging("test", "WARNING")


@pytest.fixture
async def start_service() -> AsyncIterator[Callable[..., Awaitable[GrpcService]]]:
    """Start GrpcServices on free ports; all are stopped at the end of the test."""
    started: list[GrpcService] = []

    async def start(registrations: list[Registration], name: str = "test", **overrides) -> GrpcService:
        settings = ServiceSettings(service_name=name, port=0, **overrides)
        service = GrpcService(settings, registrations)
        await service.start()
        started.append(service)
        return service

    yield start
    await asyncio.gather(*(s.stop(0) for s in started))


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a temp dir and a free port, owned by one test."""

    def __init__(self, bindir: pathlib.Path) -> None:
        self.bindir = bindir
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="t360-pg-"))
        self.data = self.root / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # The server refuses to run as root: as root, run its tools as `postgres`.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "telco360", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.url = f"postgresql+psycopg://telco360@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are cut, as in an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_bindir() -> pathlib.Path | None:
    """Where initdb / pg_ctl live (PATH or /usr/lib/postgresql/<version>/bin), or None."""
    found = shutil.which("initdb")
    if found:
        return pathlib.Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return pathlib.Path(candidates[-1]).parent if candidates else None


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL cluster (skipped without the binaries, unless in CI)."""
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            raise RuntimeError("initdb/pg_ctl are needed in CI for the store outage tests")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
