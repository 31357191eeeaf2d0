"""Fixtures shared by every test in the repository (root conftest).

`db_url` runs a test once on SQLite (a file in tmp_path) and once on PostgreSQL (a fresh
database on the server named by TELCO360_TEST_PG_URL, dropped afterwards). In CI that
server always exists and a missing one is an error; on a laptop without it the
PostgreSQL variant is skipped with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from telco360_runtime.db import normalise_url
from telco360_runtime.testing_pg import PrivatePostgres, postgres_bindir
from telco360_runtime.logs import configure_logging

PG_ENV = "TELCO360_TEST_PG_URL"


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("test", "WARNING")


def postgres_admin_url() -> str | None:
    """The admin URL of the test PostgreSQL server, or None (error in CI)."""
    url = os.environ.get(PG_ENV)
    if url:
        return normalise_url(url)
    if os.environ.get("CI"):
        raise RuntimeError(f"{PG_ENV} must be set in CI (.ci/run starts PostgreSQL)")
    return url


def create_postgres_database() -> tuple[str, callable]:
    """A fresh database on the test server: (url, drop function)."""
    admin_url = postgres_admin_url()
    if not admin_url:
        pytest.skip(f"PostgreSQL variant needs {PG_ENV} (set by .ci/run and scripts/pg_test_server.sh)")
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of an empty PostgreSQL database (for tests that only make sense there)."""
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL cluster (skipped without the binaries, unless in CI)."""
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            raise RuntimeError("initdb/pg_ctl are needed in CI for the store outage tests")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
