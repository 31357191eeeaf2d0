"""Server bootstrap: one `GrpcService` builds, runs and stops a Telco360 service.

It wires the shared interceptor, standard health checking (per service name and overall),
reflection, the Prometheus exporter and graceful shutdown: on SIGTERM health turns
NOT_SERVING, the server stops taking new calls, in-flight calls get `grace_seconds` to
finish, then background tasks are stopped and the shutdown hooks run (close the store).

Lifecycle — the one way every service wires its start, background work and stop
(in its `app.py`):
- `add_startup(fn)`: runs after the port is bound, before health turns SERVING, in order;
- `add_background(name, fn)`: `fn(stopping)` is a coroutine that returns once its work is
  done or `stopping` is set; a crash is logged and turns health NOT_SERVING (a critical
  worker);
- `add_periodic(name, seconds, fn)`: `fn()` every `seconds`; a failing round is logged and
  the next one runs;
- `add_shutdown(fn, before_drain=False)`: runs on stop, in registration order (so the
  store, which bootstrap registers last, closes last), after in-flight calls finished
  (or, with `before_drain`, first: e.g. ending streams that would otherwise hold the
  shutdown for the whole grace period);
- `parts`: named objects the composition root exposes to tests and benches.
- `leader_only=True` (on `add_startup`, `add_background`, `add_periodic`, `add_shutdown`):
  with several worker processes (`settings.workers`, workers.py) the step runs in the
  leader (worker 0) only: followers of logs and streams, schedulers, sweeps, dispatchers,
  anything that must not run twice. Request handling and per-process state (caches, their
  refresh, audit writers) run in every worker: leave the flag off. With one process the
  flag changes nothing.
Hooks may be async or plain functions; plain ones run in a worker thread, so nothing
blocks the event loop. Every stop step is bounded by `settings.grace_seconds`.

Health (health.py) answers NOT_SERVING while a problem is open, SERVING again once all
are closed, without a restart:
- `watch_database(db)` pings the store every `settings.store_probe_seconds` (default 5 s;
  bootstrap.run watches every service's store);
- `report_worker(name, healthy)` is for a service's critical workers (a group-commit
  thread, a consumer): report `False` when one dies and `True` once it runs again.
  Thread-safe; call it from the worker itself or from whatever restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from grpc_health.v1 import _async as health_aio  # `health.aio`, imported there under a version check
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from telco360_runtime.access import Access, merge, qualified
from telco360_runtime.health import HealthState, probe_store
from telco360_runtime.interceptors import ServerInterceptor
from telco360_runtime.metrics import start_metrics_server
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.tls import server_credentials
from telco360_runtime.workers import is_leader, role

Hook = Callable[[], Awaitable[None] | None]
"""A lifecycle step: a coroutine function, or a plain (blocking) function run in a thread."""
Background = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
BACKGROUND_STOP_SECONDS = 1.0


@dataclass(frozen=True)
class Registration:
    """A servicer to add: the generated `add_XServicer_to_server`, the instance, the fully
    qualified service name (e.g. `telco360.ingest.v1.IngestService`) and its role table
    (method name -> access.Access; a method without an entry is admin-only)."""

    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object
    service_name: str
    access: Mapping[str, Access] | None = None


class GrpcService:
    """A running (or runnable) service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        registrations: list[Registration],
        parts: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.registrations = registrations
        self.parts: dict[str, Any] = dict(parts or {})
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._before_drain: list[Hook] = []
        self._background: list[tuple[str, Background]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.health = health_aio.HealthServicer()
        self.health_state = HealthState(self.health)
        self.port = 0
        self._database: Any = None
        self._probe: asyncio.Task | None = None
        self._server: grpc.aio.Server | None = None
        self._stopped = asyncio.Event()
        self._interceptor: ServerInterceptor | None = None
        self._log = structlog.get_logger()

    @staticmethod
    def _here(leader_only: bool) -> bool:
        """Whether a step registered with `leader_only` runs in this process (always, with one)."""
        return not leader_only or is_leader()

    def add_startup(self, hook: Hook, *, leader_only: bool = False) -> None:
        """Run `hook` at start, after binding and before SERVING (registration order);
        `leader_only`: in the leader worker only (see the module docstring)."""
        if self._here(leader_only):
            self._startup.append(hook)

    def add_shutdown(self, hook: Hook, *, before_drain: bool = False, leader_only: bool = False) -> None:
        """Run `hook` at stop (registration order); `before_drain`: before in-flight
        calls are waited for, otherwise after background tasks have stopped;
        `leader_only`: in the leader worker only (the stop of leader-only work)."""
        if self._here(leader_only):
            (self._before_drain if before_drain else self._shutdown).append(hook)

    def add_background(self, name: str, work: Background, *, leader_only: bool = False) -> None:
        """Run `work(stopping)` from start until stop; it should return once `stopping` is set;
        `leader_only`: in the leader worker only (followers, consumers: work that must not run twice)."""
        if self._here(leader_only):
            self._background.append((name, work))

    def add_periodic(self, name: str, seconds: float, work: Hook, *, leader_only: bool = False) -> None:
        """Run `work()` every `seconds` (<= 0: never); one failing round never ends the loop;
        `leader_only`: in the leader worker only (sweeps, dispatch rounds)."""
        if seconds <= 0 or not self._here(leader_only):
            return

        async def loop(stopping: asyncio.Event) -> None:
            while not stopping.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stopping.wait(), seconds)
                if stopping.is_set():
                    return
                try:
                    await run_hook(work)
                except Exception as error:  # noqa: BLE001 - the next round may succeed
                    self._log.warning("periodic_failed", task=name, error=type(error).__name__, detail=str(error))

        self.add_background(name, loop)

    def _start_background(self) -> None:
        for name, work in self._background:
            task = asyncio.get_running_loop().create_task(work(self._stopping), name=name)
            task.add_done_callback(functools.partial(self._background_ended, name))
            self._tasks.append(task)

    def _background_ended(self, name: str, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping.is_set():
            return
        error = task.exception()
        if error is None:  # one-shot work (e.g. warming a cache) may end early
            self._log.info("background_task_done", task=name)
            return
        self._log.error("background_task_failed", task=name, error=type(error).__name__, detail=str(error))
        self.report_worker(name, False)

    async def _stop_background(self, grace: float) -> None:
        self._stopping.set()
        if not self._tasks:
            return
        # A moment to return on their own (periodic rounds do at once); a follower blocked
        # on a stream read is then cancelled, which is how it is meant to end.
        _, pending = await asyncio.wait(self._tasks, timeout=min(grace, BACKGROUND_STOP_SECONDS))
        for task in pending:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run_stop_hooks(self, hooks: list[Hook], grace: float) -> None:
        for hook in hooks:
            try:
                await asyncio.wait_for(run_hook(hook), timeout=max(grace, 1.0))
            except Exception as error:  # noqa: BLE001 - every other hook still runs
                self._log.warning(
                    "stop_hook_failed",
                    hook=getattr(hook, "__qualname__", repr(hook)),
                    error=type(error).__name__,
                    detail=str(error),
                )

    @property
    def address(self) -> str:
        """host:port clients can dial (loopback when bound to all interfaces)."""
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "::", "[::]") else self.settings.host
        return f"{host}:{self.port}"

    def report_worker(self, name: str, healthy: bool) -> None:
        """Report a critical worker dead (`healthy=False`: health NOT_SERVING) or running again.

        Callable from any thread, before or after start. Only for workers without which the
        service cannot answer correctly; health turns SERVING again once every reported
        worker (and the store) is healthy.
        """
        self.health_state.report(f"worker:{name}", healthy, "worker reported unhealthy")

    def watch_database(self, db: Any) -> None:
        """Ping `db` (anything with a blocking `ping()`, e.g. db.Database) for health while
        serving, every `settings.store_probe_seconds` (0: never). Call before or after start."""
        self._database = db
        if self._server is not None and self._probe is None:
            self._start_probe()

    def _start_probe(self) -> None:
        if self._database is None or self.settings.store_probe_seconds <= 0:
            return
        self._probe = asyncio.get_running_loop().create_task(
            probe_store(
                self.health_state,
                self._database.ping,
                interval=self.settings.store_probe_seconds,
                timeout=self.settings.store_probe_timeout_seconds,
            )
        )

    async def start(self) -> int:
        """Bind, start serving and report SERVING; returns the bound port."""
        limit = self.settings.max_message_mb * 1024 * 1024
        access = merge(qualified(r.service_name, r.access) for r in self.registrations if r.access)
        authenticator = self.settings.authenticator()
        self._interceptor = ServerInterceptor(self.settings.service_name, authenticator, access)
        server = grpc.aio.server(
            interceptors=[self._interceptor],
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # Several workers (workers.py) share the port; one process alone keeps it to
                # itself, so a second server started on the same port fails instead of sharing.
                ("grpc.so_reuseport", 1 if role().count > 1 else 0),
            ],
        )
        for reg in self.registrations:
            reg.add_to_server(reg.servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = [r.service_name for r in self.registrations]
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
        )
        bind = f"{self.settings.host}:{self.settings.port}"
        tls_on = bool(self.settings.tls_cert_file)
        if tls_on:
            credentials = server_credentials(
                self.settings.tls_cert_file,
                self.settings.tls_key_file,
                self.settings.tls_ca_file,
                client_auth=self.settings.tls_client_auth,
            )
            self.port = server.add_secure_port(bind, credentials)
        else:
            self.port = server.add_insecure_port(bind)
        if not self.port:
            raise RuntimeError(f"cannot bind {self.settings.host}:{self.settings.port}")
        await server.start()
        self._server = server
        for hook in self._startup:
            await run_hook(hook)
        self._start_background()
        await self.health_state.open(names)
        self._start_probe()
        if role().count == 1:  # several workers: the parent serves every worker's metrics (metrics.py)
            start_metrics_server(self.settings.metrics_port)
        if authenticator.mode == "off":
            self._log.warning("authentication_disabled", hint="set jwt_keys_file to require signed tokens")
        elif authenticator.mode == "static":
            self._log.warning("static_tokens", hint="development mode: opaque tokens, no expiry; use jwt_keys_file")
        if not tls_on:
            self._log.warning("tls_disabled", hint="set tls_cert_file and tls_key_file to serve TLS")
        self._log.info(
            "started",
            port=self.port,
            metrics_port=self.settings.metrics_port,
            tls=("mutual" if self.settings.tls_client_auth else "server") if tls_on else "off",
        )
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Stop gracefully: NOT_SERVING, finish in-flight calls, then run on_stop callbacks."""
        if self._server is None or self._stopped.is_set():
            return
        self._stopped.set()
        await self.health.enter_graceful_shutdown()
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        grace = self.settings.grace_seconds if grace is None else grace
        self._log.info("stopping", grace_seconds=grace)
        if self._interceptor is not None:
            self._interceptor.cut_at = time.monotonic() + grace  # calls cut after this get UNAVAILABLE
        await self._run_stop_hooks(self._before_drain, grace)
        await self._server.stop(grace)
        await self._stop_background(grace)
        await self._run_stop_hooks(self._shutdown, grace)
        self._log.info("stopped")

    async def serve_forever(self, on_started: Callable[[int], None] | None = None) -> None:
        """Start and run until SIGTERM or SIGINT, then stop gracefully.

        `on_started(port)` runs once serving (health SERVING); a worker tells its parent so.
        """
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_requested.set)
        await self.start()
        if on_started is not None:
            on_started(self.port)
        await stop_requested.wait()
        await self.stop()


async def run_hook(hook: Hook) -> None:
    """Await a coroutine function; run a plain function in a worker thread."""
    if inspect.iscoroutinefunction(hook):
        await hook()
        return
    result = await asyncio.to_thread(hook)
    if inspect.isawaitable(result):
        await result
