"""Fixtures of profile's tests: a migrated store on SQLite and PostgreSQL with a settable clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.profile.store import MIGRATIONS_DIR
from services.profile.tests.builders import Clock, Log
from services.profile.usecases.profile import ProfileUseCases
from telco360_runtime.db import Database, migrate


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[ProfileUseCases]:
    """A migrated profile store with the built-in tag pack."""
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=4)
    st = ProfileUseCases(db, clock=clock, base_ttl_seconds=0)
    st.install_builtin_tags()
    yield st
    db.dispose()


@pytest.fixture
def sqlite_store(tmp_path, clock: Clock) -> Iterator[ProfileUseCases]:
    """A store on SQLite only (for domain-heavy tests that need no second run)."""
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    migrate(url, MIGRATIONS_DIR)
    db = Database(url, workers=4)
    st = ProfileUseCases(db, clock=clock, base_ttl_seconds=0)
    st.install_builtin_tags()
    yield st
    db.dispose()
