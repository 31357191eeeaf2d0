"""`python -m services.scoring`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run


def main() -> None:
    """Build settings from the environment and run the service."""
    settings = ScoringSettings()
    run(settings, MIGRATIONS_DIR, build_service)


if __name__ == "__main__":
    main()
