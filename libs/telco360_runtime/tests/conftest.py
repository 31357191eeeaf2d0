"""Fixtures for runtime tests: a real grpc.aio server with a raw-bytes test service, and a
private PostgreSQL cluster a test may stop and start (never the shared test server)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest

from telco360_runtime.access import AccessTable, allow
from telco360_runtime.auth import ROLES
from telco360_runtime.logs import configure_logging
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings

Behaviour = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]


def raw_service(name: str, methods: dict[str, Behaviour], access: AccessTable | None = None) -> Registration:
    """A Registration for a service whose methods take and return raw bytes (no proto);
    without `access` every method is open to every authenticated role (tests of other parts)."""

    def add(_servicer: object, server: grpc.aio.Server) -> None:
        handlers = {m: grpc.unary_unary_rpc_method_handler(fn) for m, fn in methods.items()}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))

    table = access if access is not None else {m: allow(*ROLES) for m in methods}
    return Registration(add, object(), name, table)


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
