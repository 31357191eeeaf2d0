"""`python -m services.scoring`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from typing import cast

from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings


def build(settings: ServiceSettings, db: Database) -> GrpcService:
    """bootstrap's builder; the settings are the ScoringSettings that main() made."""
    return build_service(cast(ScoringSettings, settings), db)


def main() -> None:
    """Build settings from the environment and run the service."""
    settings = ScoringSettings()
    run(settings, MIGRATIONS_DIR, build)


if __name__ == "__main__":
    main()
