"""`python -m services.contact`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from services.contact.app import build_service
from services.contact.settings import ContactSettings
from services.contact.store.paths import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run


def main() -> None:
    """Build settings from the environment and run the service."""
    settings = ContactSettings()
    run(settings, MIGRATIONS_DIR, lambda _settings, db: build_service(settings, db))


if __name__ == "__main__":
    main()
