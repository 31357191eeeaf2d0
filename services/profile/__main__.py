"""`python -m services.profile`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from services.profile.app import build_service
from services.profile.settings import ProfileSettings
from services.profile.store import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run


def main() -> None:
    """Build settings from the environment and run the service."""
    run(ProfileSettings(), MIGRATIONS_DIR, build_service)


if __name__ == "__main__":
    main()
