"""`python -m services.ingest`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

import gc

from services.ingest.app import build_service
from services.ingest.settings import IngestSettings
from services.ingest.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run


def main() -> None:
    """Build settings from the environment and run the service."""
    settings = IngestSettings()
    # Ingest allocates many short-lived objects per record; with the default thresholds the
    # collector runs every few hundred records and re-walks the whole (mostly static) heap.
    # Freezing what import created and collecting less often keeps it off the hot path.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    run(settings, MIGRATIONS_DIR, lambda _settings, db: build_service(settings, db))


if __name__ == "__main__":
    main()
