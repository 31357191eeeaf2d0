"""Worker processes (workers.py): the `workers` setting, leader-only lifecycle steps, builders
a worker can import. The process trees themselves are tested on a real service
(services/ingest/tests/test_workers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from telco360_runtime import workers
from telco360_runtime.bootstrap import builder_reference
from telco360_runtime.jobs import JobStore, jobs_table
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import MAX_WORKERS, ServiceSettings, available_cpus


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings(service_name="workers-test", port=0, host="127.0.0.1", metrics_port=0, **values)


@pytest.fixture
def follower() -> Iterator[None]:
    workers.set_role(1, 2)
    try:
        yield
    finally:
        workers.set_role(0, 1)


def test_workers_default_to_the_cpus_available_on_postgresql_and_one_on_sqlite(monkeypatch):
    monkeypatch.setenv("TELCO360_WORKERS", "0")
    pg = settings(database_url="postgresql+psycopg://u@h/db")
    assert pg.workers == 0 and pg.resolved_workers() == min(available_cpus(), MAX_WORKERS)
    assert settings(database_url="sqlite:///x.db").resolved_workers() == 1
    assert settings().resolved_workers() == 1  # the SQLite default store
    # Set explicitly, the number holds on either store.
    assert settings(database_url="sqlite:///x.db", workers=3).resolved_workers() == 3
    assert settings(database_url="postgresql+psycopg://u@h/db", workers=1).resolved_workers() == 1


def test_workers_setting_is_read_from_the_environment_and_bounded(monkeypatch):
    class IngestLike(ServiceSettings):
        model_config = {**ServiceSettings.model_config, "env_prefix": "TELCO360_INGEST_"}

    monkeypatch.setenv("TELCO360_INGEST_WORKERS", "4")
    assert IngestLike().workers == 4
    for bad in ("-1", str(MAX_WORKERS + 1)):
        monkeypatch.setenv("TELCO360_INGEST_WORKERS", bad)
        with pytest.raises(ValidationError, match=f"workers must be between 0 .* and {MAX_WORKERS}"):
            IngestLike()


def test_available_cpus_follows_the_affinity_mask():
    import os

    assert available_cpus() == len(os.sched_getaffinity(0))


async def test_leader_only_steps_run_in_the_leader_only(follower: None) -> None:
    assert not workers.is_leader() and workers.role() == workers.WorkerRole(1, 2)
    service = GrpcService(settings(), [])
    seen: list[str] = []

    async def everywhere() -> None:
        seen.append("startup")

    async def leader_startup() -> None:
        seen.append("leader-startup")

    async def follow(stopping: asyncio.Event) -> None:
        seen.append("leader-background")

    async def everywhere_background(stopping: asyncio.Event) -> None:
        seen.append("background")

    async def leader_periodic() -> None:
        seen.append("leader-periodic")

    def leader_stop() -> None:
        seen.append("leader-shutdown")

    def stop() -> None:
        seen.append("shutdown")

    service.add_startup(everywhere)
    service.add_startup(leader_startup, leader_only=True)
    service.add_background("follow", follow, leader_only=True)
    service.add_background("cache", everywhere_background)
    service.add_periodic("sweep", 0.01, leader_periodic, leader_only=True)
    service.add_shutdown(leader_stop, leader_only=True)
    service.add_shutdown(stop)
    await service.start()
    await asyncio.sleep(0.05)
    await service.stop(0)
    assert seen == ["startup", "background", "shutdown"]


async def test_leader_only_steps_run_with_one_process() -> None:
    assert workers.is_leader() and workers.role().count == 1
    service = GrpcService(settings(), [])
    seen: list[str] = []

    async def leader_startup() -> None:
        seen.append("leader-startup")

    service.add_startup(leader_startup, leader_only=True)
    await service.start()
    await service.stop(0)
    assert seen == ["leader-startup"]


def test_a_follower_never_fails_jobs_its_siblings_run(tmp_path, follower: None) -> None:
    from sqlalchemy import MetaData

    from telco360_runtime.db import Database

    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    table = jobs_table(MetaData())
    table.create(db.engine)
    store = JobStore(db, table)
    job = store.create("train")
    assert store.fail_interrupted() == 0
    assert store.get(job).state == "PENDING"
    workers.set_role(0, 2)
    assert store.fail_interrupted() == 1
    assert store.get(job).state == "FAILED"
    db.dispose()


def module_level_builder() -> None:
    """Stands for a service's `build`."""


def test_worker_processes_import_the_builder_by_name():
    assert builder_reference(module_level_builder) == (__name__, "module_level_builder")
    with pytest.raises(ValueError, match="module-level builder"):
        builder_reference(lambda settings, db: None)  # type: ignore[arg-type, return-value]
