"""Alembic environment of profile: migrate on the connection telco360_runtime.db.migrate passes."""

from services.profile.store.models import Base
from telco360_runtime.db import run_alembic_env

run_alembic_env(Base.metadata)
