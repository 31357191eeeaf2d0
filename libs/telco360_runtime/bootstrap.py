"""What every service's `__main__` does: logging, store with migrations, serve until SIGTERM.

A service's main stays a few lines:

    settings = IngestSettings()
    run(settings, build)        # build(settings, db) -> GrpcService

where `build` wires the store, domain and servicer and returns an unstarted GrpcService.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Awaitable, Callable
from typing import cast

from telco360_runtime.db import Database, migrate
from telco360_runtime.logs import configure_logging, get_logger
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings

Builder = Callable[[ServiceSettings, Database], Awaitable[GrpcService] | GrpcService]


def open_store(settings: ServiceSettings, migrations_dir: pathlib.Path) -> Database:
    """Apply the service's migrations, then open its store."""
    url = settings.resolved_database_url()
    migrate(url, migrations_dir)
    return Database(url, workers=settings.db_workers, sqlite_synchronous=settings.sqlite_synchronous)


async def _serve(settings: ServiceSettings, migrations_dir: pathlib.Path, build: Builder) -> None:
    db = open_store(settings, migrations_dir)
    built = build(settings, db)
    service = cast(GrpcService, await built if asyncio.iscoroutine(built) else built)
    service.add_shutdown(db.dispose)
    service.watch_database(db)  # health NOT_SERVING while the store is down
    await service.serve_forever()


def run(settings: ServiceSettings, migrations_dir: pathlib.Path, build: Builder) -> None:
    """Configure logging, migrate, build and serve until SIGTERM/SIGINT."""
    configure_logging(settings.service_name, settings.log_level)
    get_logger().info("configuring", database=settings.resolved_database_url().split("@")[-1])
    asyncio.run(_serve(settings, migrations_dir, build))
