"""Where the contact store's Alembic migrations live."""

from __future__ import annotations

import pathlib

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent / "migrations"
