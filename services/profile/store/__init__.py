"""Profile's store: SQLAlchemy 2.0 models, repository functions and Alembic migrations."""

import pathlib

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent / "migrations"
