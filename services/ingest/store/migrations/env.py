"""Alembic environment of the ingest store (shared body in telco360_runtime.db)."""

from services.ingest.store.models import Base
from telco360_runtime.db import run_alembic_env

run_alembic_env(Base.metadata)
