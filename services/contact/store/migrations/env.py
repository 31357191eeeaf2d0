"""Alembic environment of the contact store (shared body in telco360_runtime.db)."""

from services.contact.store.models import Base
from telco360_runtime.db import run_alembic_env

run_alembic_env(Base.metadata)
