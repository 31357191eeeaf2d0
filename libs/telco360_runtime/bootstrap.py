"""What every service's `__main__` does: logging, store with migrations, serve until SIGTERM.

A service's main stays a few lines:

    settings = IngestSettings()
    run(settings, build)        # build(settings, db) -> GrpcService

where `build` wires the store, domain and servicer and returns an unstarted GrpcService.

With `settings.workers` resolving to more than one (workers.py), this process migrates the
store, then supervises that many worker processes, each running `build` and serving the
same port; `build` (and the settings) must then be picklable: a module-level function, not
a lambda. SQLite stores run one process unless `workers` is set explicitly (see
`ServiceSettings.resolved_workers` and docs/DEPLOYMENT.md).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import multiprocessing.connection
import pathlib
import sys
from collections.abc import Awaitable, Callable
from typing import cast

import structlog

from telco360_runtime.db import Database, migrate
from telco360_runtime.logs import configure_logging, get_logger
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.workers import Supervisor, die_with_parent, set_role

Builder = Callable[[ServiceSettings, Database], Awaitable[GrpcService] | GrpcService]


def open_store(settings: ServiceSettings, migrations_dir: pathlib.Path | None) -> Database:
    """Apply the service's migrations (unless `migrations_dir` is None: done already), then open its store."""
    url = settings.resolved_database_url()
    if migrations_dir is not None:
        migrate(url, migrations_dir)
    return Database(url, workers=settings.db_workers, sqlite_synchronous=settings.sqlite_synchronous)


async def _serve(
    settings: ServiceSettings,
    migrations_dir: pathlib.Path | None,
    build: Builder,
    on_started: Callable[[int], None] | None = None,
) -> None:
    db = open_store(settings, migrations_dir)
    built = build(settings, db)
    service = cast(GrpcService, await built if asyncio.iscoroutine(built) else built)
    service.add_shutdown(db.dispose)
    service.watch_database(db)  # health NOT_SERVING while the store is down
    await service.serve_forever(on_started)


def run(settings: ServiceSettings, migrations_dir: pathlib.Path, build: Builder) -> None:
    """Configure logging, migrate, build and serve until SIGTERM/SIGINT (one process, or
    `settings.resolved_workers()` worker processes; exit status 1 when a worker died)."""
    configure_logging(settings.service_name, settings.log_level)
    log = get_logger()
    url = settings.resolved_database_url()
    count = settings.resolved_workers()
    log.info("configuring", database=url.split("@")[-1], workers=count)
    sqlite = url.startswith("sqlite")
    if sqlite and settings.workers == 0:
        log.info("workers_sqlite", workers=1, hint="an SQLite store runs one process unless workers is set")
    if count == 1:
        asyncio.run(_serve(settings, migrations_dir, build))
        return
    if sqlite:
        log.warning(
            "workers_sqlite",
            workers=count,
            hint="SQLite lets one writer in at a time: writes from several processes queue on its file lock",
        )
    reference = builder_reference(build)
    migrate(url, migrations_dir)  # once, before any worker starts
    status = Supervisor(settings, count, _worker_main, (reference,)).run()
    if status:
        sys.exit(status)


def builder_reference(build: Builder) -> tuple[str, str]:
    """(module, name) a worker process imports `build` by: a module-level function, where the
    module run as `python -m services.<svc>` is named by its import name (the workers import
    it as a module, so its `if __name__ == "__main__"` block does not run there)."""
    module = getattr(build, "__module__", None) or ""
    name = getattr(build, "__qualname__", "")
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec is not None else ""
    if not module or not name or "<" in name:
        raise ValueError(f"several workers need a module-level builder function, not {build!r}")
    return module, name


def _worker_main(
    settings: ServiceSettings,
    index: int,
    count: int,
    ready: multiprocessing.connection.Connection,
    reference: tuple[str, str],
) -> None:
    """One worker process (workers.py): build and serve; report the bound port once SERVING."""
    build = cast(Builder, functools.reduce(getattr, reference[1].split("."), importlib.import_module(reference[0])))
    set_role(index, count)
    configure_logging(settings.service_name, settings.log_level)
    structlog.contextvars.bind_contextvars(worker=index)
    die_with_parent()

    def started(port: int) -> None:
        ready.send(port)
        ready.close()

    asyncio.run(_serve(settings, None, build, started))
