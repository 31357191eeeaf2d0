"""`python -m services.profile`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from services.profile.app import build_service
from services.profile.settings import ProfileSettings
from services.profile.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings


def _build(settings: ServiceSettings, db: Database) -> GrpcService:
    assert isinstance(settings, ProfileSettings)
    return build_service(settings, db)


def main() -> None:
    """Build settings from the environment and run the service."""
    run(ProfileSettings(), MIGRATIONS_DIR, _build)


if __name__ == "__main__":
    main()
