"""What health reports: SERVING unless the store is down or a critical worker is dead.

`HealthState` owns the answers of the standard health service (overall "" and each service
name). Problems are reported by key, from any thread: the store probe reports "database",
`GrpcService.report_worker(name, healthy)` reports "worker:<name>". While any problem is
open every name answers NOT_SERVING; once the last one clears they answer SERVING again, with
no restart. After graceful shutdown begins the answers stay NOT_SERVING (grpc's
HealthServicer ignores later changes).

`probe_store` pings a store every `interval` seconds (`ServiceSettings.store_probe_seconds`,
default 5 s): a ping that fails or takes longer than `timeout` opens the "database" problem,
the next one that succeeds closes it. A hung ping is never stacked: the next starts only
once it has returned.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import structlog
from grpc_health.v1 import _async as health_aio  # `health.aio`, imported there under a version check
from grpc_health.v1 import health_pb2

from telco360_runtime import context

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthState:
    """Problems reported by key (thread-safe) and the health answers they lead to."""

    def __init__(self, servicer: health_aio.HealthServicer) -> None:
        self.servicer = servicer
        self._names: list[str] = []
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publishing: asyncio.Lock | None = None
        self._pending: set[asyncio.Task] = set()
        self._log = structlog.get_logger()

    @property
    def problems(self) -> dict[str, str]:
        """Open problems: key -> short reason (empty when serving)."""
        with self._lock:
            return dict(self._problems)

    async def open(self, names: list[str]) -> None:
        """Start answering for `names` (plus the overall ""), from the running loop."""
        self._loop = asyncio.get_running_loop()
        self._publishing = asyncio.Lock()
        self._names = ["", *names]
        await self._publish()

    def report(self, key: str, healthy: bool, reason: str = "") -> None:
        """Open (`healthy=False`) or close a problem; callable from any thread."""
        with self._lock:
            was_open = key in self._problems
            if healthy == (not was_open):
                return
            if healthy:
                del self._problems[key]
            else:
                self._problems[key] = reason or "unhealthy"
            remaining = sorted(self._problems)
        if healthy:
            self._log.info("health_problem_cleared", problem=key, open_problems=remaining)
        else:
            self._log.warning("health_problem", problem=key, reason=reason, open_problems=remaining)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._schedule_publish)
            except RuntimeError:  # the loop closed in between: nothing left to answer
                pass

    def _schedule_publish(self) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(), context=context.detached_context())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self) -> None:
        assert self._publishing is not None
        # One publication at a time, reading the state inside: the last one always wins.
        async with self._publishing:
            status = NOT_SERVING if self.problems else SERVING
            for name in self._names:
                await self.servicer.set(name, status)


async def probe_store(
    state: HealthState, ping: Callable[[], None], *, interval: float, timeout: float, key: str = "database"
) -> None:
    """Ping the store for ever (until cancelled), reporting `key` to `state`."""
    pending: asyncio.Future | None = None
    while True:
        if pending is None or pending.done():
            pending = asyncio.ensure_future(asyncio.to_thread(ping))
        try:
            await asyncio.wait_for(asyncio.shield(pending), timeout)
        except TimeoutError:
            state.report(key, False, f"ping took longer than {timeout:g} s")
        except Exception as error:  # noqa: BLE001 - any failing ping means the store is down for us
            state.report(key, False, type(error).__name__)
        else:
            state.report(key, True)
        await asyncio.sleep(interval)
