"""Several worker processes serving one service on one port (`ServiceSettings.workers`).

A Python process uses one core; `bootstrap.run` with `workers` > 1 makes the process a
supervisor (the parent) of that many workers, each a whole GrpcService in its own process:
- the parent never serves gRPC; it applies the store's migrations once, before any worker
  starts, then starts the workers with the "spawn" start method (a fresh interpreter each:
  grpc must never be forked once initialised);
- worker 0, the *leader*, starts first; once it reports SERVING the others (followers)
  start, all binding the same port with SO_REUSEPORT (`grpc.so_reuseport`), so the kernel
  spreads incoming connections over them. With `port` 0 the leader's bound port is the one
  the followers take;
- work that must run once per replica (log followers, schedulers, sweeps, dispatchers,
  interrupted-job clean-up) is registered with `leader_only=True` (server.py) and runs in the
  leader only; request handling, per-process caches and their refresh run in every worker;
- metrics: the parent alone serves `metrics_port`, aggregated over the workers by
  prometheus_client's multiprocess mode (metrics.py); the workers open no metrics port;
- health: each worker answers for itself; a follower starts (and so can answer SERVING)
  only once the leader is SERVING;
- stop: SIGTERM or SIGINT to the parent is passed on to every worker as SIGTERM, and each
  stops gracefully (NOT_SERVING, in-flight calls get `grace_seconds`, then its stop hooks);
  a worker still running `grace_seconds` + `STOP_MARGIN_SECONDS` later is killed. A worker
  whose parent disappears (SIGKILL, a crash) is killed with it by the kernel
  (PR_SET_PDEATHSIG): the replica ends whole, as one process would, and leaves no orphans;
- a worker that dies (or a leader that fails to start) stops the others gracefully and the
  parent exits with status 1: the replica is restarted whole by whatever runs it (Compose
  `restart: unless-stopped`, Kubernetes), leader included, rather than patched in place.

`role()` tells code in a worker which worker it is; with one process it is worker 0 of 1,
the leader.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

STOP_MARGIN_SECONDS = 15.0
"""Beyond `grace_seconds`, how long a stopping worker may take (background work, stop hooks)."""


@dataclass(frozen=True)
class WorkerRole:
    """Which worker this process is: `index` of `count` (0 of 1 when not in worker mode)."""

    index: int = 0
    count: int = 1

    @property
    def leader(self) -> bool:
        """Worker 0 runs the leader-only work."""
        return self.index == 0


_role = WorkerRole()


def role() -> WorkerRole:
    """This process's worker role."""
    return _role


def is_leader() -> bool:
    """Whether this process runs the leader-only work (True unless it is a follower worker)."""
    return _role.leader


def set_role(index: int, count: int) -> None:
    """Set by the worker entry point before the service is built."""
    global _role
    _role = WorkerRole(index, count)


WorkerTarget = Callable[..., None]
"""`target(settings, index, count, ready_conn, *args)`: runs one worker, sends its port on
`ready_conn` once SERVING; a module-level function (it is pickled for "spawn")."""


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a worker: be killed (SIGKILL) when the parent process ends, like one process
    killed whole; where prctl is missing (not Linux), stop gracefully instead."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent.pid:  # the parent ended before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch(sentinel: int) -> None:
        multiprocessing.connection.wait([sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


class WorkerFailed(RuntimeError):
    """A worker ended before it reported SERVING, or while serving."""


class Supervisor:
    """The parent of `count` workers: start them, watch them, stop them (see module docstring)."""

    def __init__(self, settings: Any, count: int, target: WorkerTarget, args: tuple[Any, ...] = ()) -> None:
        from telco360_runtime.logs import get_logger

        self.settings, self.count, self.target, self.args = settings, count, target, args
        self.processes: list[BaseProcess] = []
        self.port = 0
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._metrics_dir: str | None = None
        self._log = get_logger()

    # ------------------------------------------------------------------ start
    def _spawn(self, index: int, port: int) -> tuple[BaseProcess, multiprocessing.connection.Connection]:
        receive, send = self._context.Pipe(duplex=False)
        settings = self.settings.model_copy(update={"port": port, "metrics_port": 0})
        process = self._context.Process(
            target=self.target,
            args=(settings, index, self.count, send, *self.args),
            name=f"{self.settings.service_name}-worker-{index}",
        )
        process.start()
        send.close()
        self.processes.append(process)
        return process, receive

    def _await_ready(self, index: int, process: BaseProcess, ready: multiprocessing.connection.Connection) -> int:
        while True:
            if self._stop.is_set():
                raise InterruptedError
            done = multiprocessing.connection.wait([ready, process.sentinel], timeout=0.5)
            if ready in done:
                try:
                    return int(ready.recv())
                except EOFError:  # the worker ended without reporting
                    pass
            if process.sentinel in done or ready in done:
                process.join(1)
                raise WorkerFailed(
                    f"worker {index} (pid {process.pid}) ended while starting, status {process.exitcode}"
                )

    def _start_metrics(self) -> None:
        from telco360_runtime import metrics

        if not self.settings.metrics_port:
            return
        # A fresh directory per run, as prometheus_client requires (values of an earlier run
        # would be summed in); inside the operator's PROMETHEUS_MULTIPROC_DIR when set.
        self._metrics_dir = tempfile.mkdtemp(
            prefix=f"telco360-{self.settings.service_name}-metrics-",
            dir=os.environ.get(metrics.MULTIPROC_DIR_ENV) or None,
        )
        os.environ[metrics.MULTIPROC_DIR_ENV] = self._metrics_dir  # the workers inherit it
        metrics.start_multiprocess_metrics_server(self.settings.metrics_port)

    def start(self) -> None:
        """Start the leader, wait until it serves, then the followers on its port."""
        self._start_metrics()
        leader, ready = self._spawn(0, self.settings.port)
        self.port = self._await_ready(0, leader, ready)
        followers = [(index, *self._spawn(index, self.port)) for index in range(1, self.count)]
        for index, process, ready in followers:
            self._await_ready(index, process, ready)
        self._log.info(
            "workers_serving",
            workers=self.count,
            port=self.port,
            pids=[p.pid for p in self.processes],
            metrics_port=self.settings.metrics_port,
        )

    # ------------------------------------------------------------------ watch / stop
    def request_stop(self, *_: Any) -> None:
        """Signal handler (and for tests): stop all workers gracefully."""
        self._stop.set()

    def watch(self) -> int | None:
        """Block until a stop is requested (None) or a worker ends (its index)."""
        while not self._stop.is_set():
            ended = multiprocessing.connection.wait([p.sentinel for p in self.processes], timeout=0.5)
            for index, process in enumerate(self.processes):
                if process.sentinel in ended:
                    return index
        return None

    def stop(self) -> None:
        """SIGTERM to every live worker; kill those still running after the grace period."""
        from telco360_runtime import metrics

        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.grace_seconds + STOP_MARGIN_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                self._log.warning("worker_killed", pid=process.pid, reason="still running after the grace period")
                process.kill()
                process.join(5)
            if process.pid is not None:
                metrics.mark_worker_dead(process.pid)
        if self._metrics_dir is not None:
            shutil.rmtree(self._metrics_dir, ignore_errors=True)

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT or a worker's death, stop: the exit status."""
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        status = 0
        try:
            try:
                self.start()
            except InterruptedError:
                self._log.info("stopping_workers", reason="stop requested while starting")
            except WorkerFailed as error:
                self._log.error("worker_failed", detail=str(error))
                status = 1
            else:
                ended = self.watch()
                if ended is not None:
                    process = self.processes[ended]
                    process.join(1)
                    self._log.error(
                        "worker_died",
                        worker=ended,
                        pid=process.pid,
                        exitcode=process.exitcode,
                        action="stopping the other workers; exit status 1",
                    )
                    status = 1
                else:
                    self._log.info("stopping_workers", workers=len(self.processes))
        finally:
            self.stop()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self._log.info("workers_stopped", status=status)
        return status

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request_stop()
