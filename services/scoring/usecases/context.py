"""What the scoring use cases share (usecases layer): store, feature source, job runner, serving models.

Jobs run on worker threads while profile is reached through an asyncio client owned by the
server's event loop; `Context.call` runs one coroutine on that loop from a job thread and
waits for its result, so job code stays plain sequential Python.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..domain.lifetime import LifetimeSettings
from ..domain.registry import ServingModels
from .ports import FeatureSource

T = TypeVar("T")


class Runner(Protocol):
    """Starts a job on a worker thread (telco360_runtime.jobs.JobRunner)."""

    def start(self, kind: str, fn: Callable[[Any], str]) -> str: ...


@dataclass
class DomainConfig:
    """Settings the use cases need (taken from the service settings in main)."""

    report_dir: str = "var/reports"
    table_import_dir: str = ""
    dask_scheduler_address: str = ""
    batch_reasons: int = 3
    reason_method: str = "path"
    publish_band_changes: bool = True
    scoring_threads: int = 4
    training_threads: int | None = None  # None: the CPUs the process may use
    default_churn_horizon: int = 3
    default_value_horizon: int = 12
    #: Base analytics (issue #19): the seed of k-means and the outlier detector, how
    #: lifetime value is computed.
    analytics_seed: int = 0
    lifetime: LifetimeSettings = field(default_factory=LifetimeSettings)


@dataclass
class Context:
    """Dependencies of the use cases, wired once in the composition root."""

    store: Any
    source: FeatureSource
    runner: Runner
    serving: ServingModels = field(default_factory=ServingModels)
    config: DomainConfig = field(default_factory=DomainConfig)
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    loop: asyncio.AbstractEventLoop | None = None
    cpu: ThreadPoolExecutor | None = None
    # One training fit at a time: concurrent training jobs queue here instead of sharing cores.
    training_slot: threading.Lock = field(default_factory=threading.Lock)
    #: The latest base-analytics run with its fitted parts, loaded once per run id.
    analytics_run: Any = None

    def bind_loop(self) -> None:
        """Remember the running event loop (called from async entry points)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()

    def call(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the service's event loop from a job thread; wait for it."""
        if self.loop is None:
            raise RuntimeError("no event loop bound; call bind_loop() from an async entry point first")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]

    def executor(self) -> ThreadPoolExecutor:
        """The thread pool running CPU-bound scoring off the event loop."""
        if self.cpu is None:
            self.cpu = ThreadPoolExecutor(self.config.scoring_threads, thread_name_prefix="score")
        return self.cpu
