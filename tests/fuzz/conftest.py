"""Fixtures of the fuzz tests: the wired cluster, the findings report, Hypothesis profiles.

The fuzz tests are marked `fuzz` and run with the rest of `make test` (TELCO360_FUZZ=0 skips
them). Knobs:

* TELCO360_FUZZ_EXAMPLES: generated examples per RPC (default 15; 2-4 min on 2 busy cores).
* TELCO360_FUZZ_RANDOM=1: a fresh random run instead of the derandomized, repeatable one.
* TELCO360_FUZZ_FINDINGS=path: write every finding, per service and RPC, as Markdown.
* TELCO360_FUZZ_DB=postgresql: the four stores on PostgreSQL (TELCO360_TEST_PG_URL) instead of SQLite.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.cluster import Cluster, seed_records
from tests.fuzz.findings import Findings
from tests.fuzz.probes import seed

EXAMPLES = int(os.environ.get("TELCO360_FUZZ_EXAMPLES", "15"))

settings.register_profile(
    "telco360-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("TELCO360_FUZZ_RANDOM") != "1",
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: fuzz tests of every RPC (TELCO360_FUZZ=0 skips them)")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The four services wired together on SQLite, with the seeded base loaded."""
    running = Cluster(tmp_path_factory.mktemp("fuzz-cluster"))
    running.start()
    seed(running, seed_records())
    yield running
    running.close()


@pytest.fixture(scope="session")
def findings() -> Iterator[Findings]:
    """Every finding of the session; written as Markdown to TELCO360_FUZZ_FINDINGS at the end."""
    found = Findings()
    yield found
    target = os.environ.get("TELCO360_FUZZ_FINDINGS")
    if target:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        backend = os.environ.get("TELCO360_FUZZ_DB", "sqlite")
        pathlib.Path(target).write_text(found.markdown(stamp, EXAMPLES, backend), encoding="utf-8")
