"""Scoring's own store: SQLAlchemy models, repository and Alembic migrations."""

import pathlib

from .repository import ScoringStore

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent / "migrations"

__all__ = ["MIGRATIONS_DIR", "ScoringStore"]
