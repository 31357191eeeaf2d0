"""`python -m services.contact`: migrate the store and serve until SIGTERM."""

from __future__ import annotations

from typing import cast

from services.contact.app import build_service
from services.contact.settings import ContactSettings
from services.contact.store.paths import MIGRATIONS_DIR
from telco360_runtime.bootstrap import run
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings


def build(settings: ServiceSettings, db: Database) -> GrpcService:
    """bootstrap's builder (module level: worker processes receive it pickled)."""
    return build_service(cast(ContactSettings, settings), db)


def main() -> None:
    """Build settings from the environment and run the service."""
    run(ContactSettings(), MIGRATIONS_DIR, build)


if __name__ == "__main__":
    main()
