"""Alembic environment of the scoring store (shared body in telco360_runtime.db)."""

from services.scoring.store.models import Base
from telco360_runtime.db import run_alembic_env

run_alembic_env(Base.metadata)
