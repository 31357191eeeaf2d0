"""The store helper and jobs on SQLite and PostgreSQL (real databases)."""

from __future__ import annotations

import pathlib
import threading

import sqlalchemy as sa

from telco360.common.v1 import common_pb2
from telco360_runtime.db import Database, migrate
from telco360_runtime.errors import FailedPrecondition
from telco360_runtime.jobs import FAILED, SUCCEEDED, JobRunner, JobStore, jobs_table
from telco360_runtime.proto_jobs import job_to_proto

MIGRATION = '''
"""create things"""
from alembic import op
import sqlalchemy as sa
revision = "0001"
down_revision = None
def upgrade():
    op.create_table("things", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))
'''


def make_migrations(root: pathlib.Path) -> pathlib.Path:
    folder = root / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text("from telco360_runtime.db import run_alembic_env\nrun_alembic_env(None)\n")
    (folder / "script.py.mako").write_text("")
    (folder / "versions" / "0001_things.py").write_text(MIGRATION)
    return folder


def test_migrate_and_round_trip(db_url: str, tmp_path: pathlib.Path) -> None:
    folder = make_migrations(tmp_path)
    migrate(db_url, folder)
    migrate(db_url, folder)  # idempotent: already at head
    db = Database(db_url)
    things = sa.table("things", sa.column("id"), sa.column("name"))
    with db.write_session() as s:
        s.execute(things.insert().values(id=1, name="天津市人民政府"))
    with db.session() as s:
        assert s.execute(sa.select(things.c.name)).scalar_one() == "天津市人民政府"
    db.dispose()


def test_concurrent_writers_serialise(db_url: str) -> None:
    db = Database(db_url, workers=4)
    meta = sa.MetaData()
    counter = sa.Table("counter", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
    meta.create_all(db.engine)
    with db.write_session() as s:
        s.execute(counter.insert().values(id=1, n=0))

    def bump() -> None:
        for _ in range(25):
            with db.write_session() as s:
                query = sa.select(counter.c.n).where(counter.c.id == 1)
                if not db.is_sqlite:
                    query = query.with_for_update()
                n = s.execute(query).scalar_one()
                s.execute(counter.update().values(n=n + 1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with db.session() as s:
        assert s.execute(sa.select(counter.c.n)).scalar_one() == 100
    db.dispose()


async def test_jobs_report_progress_and_outcome(db_url: str) -> None:
    db = Database(db_url)
    meta = sa.MetaData()
    table = jobs_table(meta)
    meta.create_all(db.engine)
    runner = JobRunner(JobStore(db, table))

    def work(progress) -> str:
        progress.update(total=10)
        for _ in range(10):
            progress.advance()
        return "model-7"

    def broken(progress) -> str:
        raise FailedPrecondition("no training rows")

    def crashed(progress) -> str:
        raise ValueError("secret cell value 13800138000")

    ok = await runner.wait(runner.start("train_model", work), timeout=10)
    assert (ok.state, ok.done, ok.total, ok.result_ref) == (SUCCEEDED, 10, 10, "model-7")
    proto = job_to_proto(ok)
    assert proto.state == common_pb2.JOB_STATE_SUCCEEDED and proto.HasField("finished_at")
    bad = await runner.wait(runner.start("train_model", broken), timeout=10)
    assert bad.state == FAILED and bad.error_message == "no training rows"
    # Unexpected errors never reach the caller raw (their text may carry request data).
    crash = await runner.wait(runner.start("train_model", crashed), timeout=10)
    assert crash.state == FAILED and "13800138000" not in crash.error_message
    assert "ValueError" in crash.error_message and crash.job_id in crash.error_message
    db.dispose()


def test_text_with_nul_is_a_bad_request_on_every_store(db_url: str) -> None:
    """PostgreSQL refuses NUL in text: that must read as the caller's bad input, not INTERNAL."""
    from telco360_runtime import bounds
    from telco360_runtime.db import nul_text_error
    from telco360_runtime.errors import InvalidArgument, ViolationCollector

    out = ViolationCollector()
    assert not bounds.check_text(out, "name", "a\x00b", max_len=10)
    assert [(v.field, v.reason) for v in out.violations] == [("name", bounds.BAD_FORMAT)]

    db = Database(db_url)
    table = sa.Table(
        "nul_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text)
    )
    table.metadata.create_all(db.engine)
    try:
        with db.session() as session:
            session.execute(table.insert().values(id=1, text="a\x00b"))
    except Exception as error:  # noqa: BLE001 - PostgreSQL refuses, SQLite stores it
        mapped = nul_text_error(error)
        assert isinstance(mapped, InvalidArgument) and mapped.violations[0].reason == "BAD_FORMAT"
    else:
        assert db.is_sqlite
    assert nul_text_error(ValueError("something else")) is None
    db.dispose()
