"""Helpers for tests and benches of any service: servers on port 0, polled conditions.

- `serving(build, settings, migrations_dir)`: migrate a store, build a service with its
  composition root and run it in-process on a port the OS picks; stopped on exit.
- `wait_until(condition, timeout)`: poll a condition (sync or async) until it holds,
  instead of sleeping for a wall-clock time that may be too short or needlessly long.
- `free_port()`: a port for a *separate process* that must be told its port up front
  (in-process servers use port 0 and read `service.port`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import pathlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from telco360_runtime.bootstrap import open_store
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def free_port() -> int:
    """A TCP port free on loopback right now (for a server started as another process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, message: str = ""
) -> Any:
    """Poll `condition()` (sync or async) until it returns something truthy; return that.

    TimeoutError (with `message`) when it has not held within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout:g} s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serving(
    build: Callable[..., GrpcService | Awaitable[GrpcService]],
    settings: S,
    migrations_dir: pathlib.Path,
    **build_kwargs: Any,
) -> AsyncIterator[GrpcService]:
    """A started service on a fresh port (settings.port should be 0), stopped on exit."""
    db = open_store(settings, migrations_dir)
    service = build(settings, db, **build_kwargs)
    if inspect.isawaitable(service):
        service = await service
    assert isinstance(service, GrpcService)
    service.add_shutdown(db.dispose)
    await service.start()
    try:
        yield service
    finally:
        await service.stop(0)
