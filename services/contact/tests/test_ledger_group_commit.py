"""The group-commit worker is shared by every ReserveContact on SQLite, so no single call
may harm it (issue 12, item 1): withdrawn callers are skipped, any exception fails only
its own unit, and the loop is restarted (reporting its health) if something escapes it."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import threading

from sqlalchemy import func, select

from services.contact.domain.model import Channel, ContactRequest, Purpose
from services.contact.settings import ContactSettings
from services.contact.store import ledger
from services.contact.store.batch import GroupCommit
from services.contact.store.models import ReservationRow
from services.contact.store.paths import MIGRATIONS_DIR
from telco360_runtime.bootstrap import open_store

NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


class Boom(BaseException):
    """Not an Exception: the kind of error that used to escape the worker's handlers."""


def _insert(key: str):
    def unit(session) -> str:
        request = ContactRequest("C1", Channel.SMS, Purpose.MARKETING, at=NOW)
        ledger.insert_reservation(session, key, key, request, NOW, NOW, NOW + dt.timedelta(hours=1), "d", "", 0)
        return key

    return unit


def _boom(session) -> str:
    raise Boom()


def _count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(ReservationRow))


async def test_withdrawn_and_failing_units_leave_the_worker_running() -> None:
    db = open_store(ContactSettings(database_url=f"sqlite:///{tempfile.mkdtemp()}/c.db"), MIGRATIONS_DIR)
    gate = threading.Event()
    reports: list[bool] = []
    batcher = GroupCommit(db, on_health=reports.append)

    entered = threading.Event()

    def blocker(session) -> str:
        entered.set()
        gate.wait()  # holds the worker so the next units are still queued when cancelled
        return "blocker"

    try:
        first = asyncio.ensure_future(batcher.run(blocker))
        await asyncio.to_thread(entered.wait)  # its batch is formed: later units queue behind it
        withdrawn = [asyncio.ensure_future(batcher.run(_insert(f"gone{n}"))) for n in range(5)]
        await asyncio.sleep(0)
        for task in withdrawn:
            task.cancel()
        # A cancel reaches the worker's future through a loop callback (asyncio.wrap_future):
        # let it land before the worker is released, as it does for any caller not racing it.
        await asyncio.wait(withdrawn)
        failing = asyncio.ensure_future(batcher.run(_boom))
        kept = asyncio.ensure_future(batcher.run(_insert("kept")))
        gate.set()
        assert await first == "blocker"
        assert await kept == "kept"
        try:
            await failing
        except Boom:
            pass
        else:
            raise AssertionError("the failing unit's caller must get its own error")
        assert all(task.cancelled() for task in withdrawn)
        assert _count(db) == 1  # nothing was written for the withdrawn callers
        assert await batcher.run(_insert("after")) == "after"
        assert batcher.alive and batcher.restarts == 0 and reports == [True]
    finally:
        gate.set()
        await asyncio.to_thread(batcher.close)
        db.dispose()


async def test_loop_failure_restarts_the_worker_and_reports_health() -> None:
    db = open_store(ContactSettings(database_url=f"sqlite:///{tempfile.mkdtemp()}/c.db"), MIGRATIONS_DIR)
    reports: list[bool] = []
    batcher = GroupCommit(db, on_health=reports.append)
    loop, failures = batcher._loop, []

    def failing_once() -> None:
        # A fault injected into the loop itself (nothing in it raises on purpose any more).
        if not failures:
            failures.append(1)
            raise RuntimeError("injected")
        loop()

    batcher._loop = failing_once  # type: ignore[method-assign]
    try:
        assert await batcher.run(_insert("one")) == "one"
        assert batcher.restarts == 1
        assert reports == [True, False, True]  # NOT_SERVING while down, SERVING again after the restart
        assert await batcher.run(_insert("two")) == "two"
        assert _count(db) == 2
    finally:
        await asyncio.to_thread(batcher.close)
        db.dispose()
