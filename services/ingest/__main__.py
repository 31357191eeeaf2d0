"""`python -m services.ingest`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

import gc
from typing import cast

from services.ingest.app import build_service
from services.ingest.settings import IngestSettings
from services.ingest.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings


def build(settings: ServiceSettings, db: Database) -> GrpcService:
    """bootstrap's builder (module level: worker processes receive it pickled)."""
    # Ingest allocates many short-lived objects per record; with the default thresholds the
    # collector runs every few hundred records and re-walks the whole (mostly static) heap.
    # Freezing what import created and collecting less often keeps it off the hot path
    # (in every worker process: each has its own heap).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    return build_service(cast(IngestSettings, settings), db)


def main() -> None:
    """Build settings from the environment and run the service."""
    run(IngestSettings(), MIGRATIONS_DIR, build)


if __name__ == "__main__":
    main()
