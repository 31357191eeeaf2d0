"""Fixtures shared by every test in the repository (root conftest).

`db_url` runs a test once on SQLite (a file in tmp_path) and once on PostgreSQL (a fresh
database on the server named by TELCO360_TEST_PG_URL, dropped afterwards). In CI that
server always exists and a missing one is an error; on a laptop without it the
PostgreSQL variant is skipped with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

# Before anything loads OpenMP (see services/scoring/__init__.py): tests share two cores
# with their own service subprocesses, where spinning OpenMP threads starve the others.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import sqlalchemy as sa

from telco360_runtime.db import normalise_url
from telco360_runtime.logs import configure_logging
from telco360_runtime.testing_pg import PrivatePostgres, postgres_bindir

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


# --- Test tiers -------------------------------------------------------------------------------
# Every test gets exactly one of the markers e2e, integration or unit (`make test-fast` runs -m unit):
#   e2e          already marked e2e (real service processes);
#   integration  requests a fixture that starts a server or opens a database, or lives in a module
#                that starts servers, opens databases or runs subprocesses in its own code;
#   unit         everything else (no server, no database, no subprocess).
# A module that gains such I/O outside the fixtures below belongs in INTEGRATION_MODULES.

TIERS = ("e2e", "integration", "unit")

INTEGRATION_FIXTURES = frozenset(
    {
        "db_url",
        "postgres_url",
        "private_postgres",
        "start_service",  # libs/telco360_runtime/tests
        "server",  # services/ingest/tests (and module-scoped servers elsewhere)
        "store",  # services/profile/tests
        "sqlite_store",
        "env",  # services/scoring/tests/test_service.py
        "cluster",  # tests/fuzz
        "demo_run",  # tests/e2e
    }
)

INTEGRATION_MODULES = frozenset(
    {
        "libs/telco360_runtime/tests/test_auth.py",
        "libs/telco360_runtime/tests/test_decoding.py",
        "libs/telco360_runtime/tests/test_lifecycle.py",
        "libs/telco360_runtime/tests/test_logs.py",
        "libs/telco360_runtime/tests/test_rpc_log_codes.py",
        "libs/telco360_runtime/tests/test_server.py",
        "libs/telco360_runtime/tests/test_status_bounds.py",
        "libs/telco360_runtime/tests/test_store.py",
        "libs/telco360_runtime/tests/test_store_outage.py",
        "libs/telco360_runtime/tests/test_timeconv.py",
        "services/contact/tests/test_concurrency.py",
        "services/contact/tests/test_group_commit.py",
        "services/contact/tests/test_ledger_deadline_storm.py",
        "services/contact/tests/test_ledger_group_commit.py",
        "services/contact/tests/test_ledger_properties.py",
        "services/ingest/tests/test_bounds.py",
        "services/ingest/tests/test_durability.py",
        "services/ingest/tests/test_importer.py",
        "services/ingest/tests/test_request_bounds.py",
        "services/ingest/tests/test_service.py",
        "services/ingest/tests/test_store.py",
        "services/ingest/tests/test_store_outage.py",
        "services/profile/tests/test_billing_period.py",
        "services/profile/tests/test_billing_period_views.py",
        "services/profile/tests/test_convergence.py",
        "services/profile/tests/test_masking.py",
        "services/profile/tests/test_readmodel.py",
        "services/profile/tests/test_scoping.py",
        "services/profile/tests/test_service.py",
        "services/scoring/tests/test_domain.py",
        "services/scoring/tests/test_publish.py",
        "services/scoring/tests/test_service.py",
        "services/scoring/tests/test_service_bounds.py",
        "services/scoring/tests/test_store.py",
        "tests/fuzz/test_fuzz_rpcs.py",
        "tests/test_contracts.py",
        "tests/test_services_start.py",
    }
)

ROOT = os.path.dirname(os.path.abspath(__file__))


def tier_of(item: pytest.Item) -> str:
    if item.get_closest_marker("e2e"):
        return "e2e"
    module = os.path.relpath(str(item.path), ROOT).replace(os.sep, "/")
    if module in INTEGRATION_MODULES or INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marked = [name for name in TIERS if item.get_closest_marker(name)]
        if len(marked) > 1:
            raise pytest.UsageError(f"{item.nodeid} is marked {marked}: a test has exactly one tier")
        if not marked:
            item.add_marker(tier_of(item))
