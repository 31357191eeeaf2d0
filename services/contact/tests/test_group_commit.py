"""Group commit of reservations on SQLite (store/batch.py): units of one batch see each
other's writes, a failing unit is rolled back alone, and every answer follows the commit."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile

import pytest
from sqlalchemy.exc import IntegrityError

from services.contact.domain.model import Channel, ContactRequest, Purpose
from services.contact.settings import ContactSettings
from services.contact.store import ledger
from services.contact.store.batch import GroupCommit
from services.contact.store.paths import MIGRATIONS_DIR
from telco360_runtime.bootstrap import open_store

NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


def _reserve_unless_taken(key: str, customer: str = "C1"):
    """A unit: check (count the account's contacts) then insert, like ReserveContact."""

    def unit(session) -> int:
        history, prior = ledger.load_history_and_key(session, customer, NOW - dt.timedelta(days=1), NOW, key)
        if prior is not None:
            return -1
        request = ContactRequest(customer, Channel.SMS, Purpose.MARKETING, at=NOW)
        ledger.insert_reservation(
            session, ledger.new_id(), key, request, NOW, NOW, NOW + dt.timedelta(hours=1), "d", "", 0
        )
        ledger.record_reserve_request(session, key, "f", customer, "d", "r", NOW)
        return len(history.contacts)

    return unit


def _failing(session) -> int:
    request = ContactRequest("C1", Channel.SMS, Purpose.MARKETING, at=NOW)
    ledger.insert_reservation(
        session, ledger.new_id(), "doomed", request, NOW, NOW, NOW + dt.timedelta(hours=1), "d", "", 0
    )
    raise IntegrityError("boom", None, Exception("simulated"))


async def test_units_are_serialised_in_one_transaction_and_fail_alone() -> None:
    db = open_store(ContactSettings(database_url=f"sqlite:///{tempfile.mkdtemp()}/c.db"), MIGRATIONS_DIR)
    batcher = GroupCommit(db)
    try:
        units = [_reserve_unless_taken(f"k{n}") for n in range(10)]
        units.insert(5, _failing)
        units.append(_reserve_unless_taken("k3"))  # the same key again: a replay, not a second insert
        results = await asyncio.gather(*(batcher.run(u) for u in units), return_exceptions=True)
        assert isinstance(results[5], IntegrityError)
        counts = [r for i, r in enumerate(results) if i != 5]
        # Each check saw exactly the reservations made before it, whichever batch it ran in.
        assert sorted(counts[:-1]) == list(range(10)) and counts[-1] == -1
        with db.session() as session:
            history = ledger.load_history(session, "C1", NOW - dt.timedelta(days=1), NOW)
        assert len(history.contacts) == 10
        assert all(c.entry_id for c in history.contacts)
    finally:
        await asyncio.to_thread(batcher.close)
        db.dispose()


@pytest.mark.parametrize("size", [1, 3])
async def test_small_batches_behave_the_same(size: int) -> None:
    db = open_store(ContactSettings(database_url=f"sqlite:///{tempfile.mkdtemp()}/c.db"), MIGRATIONS_DIR)
    batcher = GroupCommit(db, max_batch=size)
    try:
        results = await asyncio.gather(*(batcher.run(_reserve_unless_taken(f"k{n}")) for n in range(7)))
        assert sorted(results) == list(range(7))
    finally:
        await asyncio.to_thread(batcher.close)
        db.dispose()
