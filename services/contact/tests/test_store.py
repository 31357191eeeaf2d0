"""Store tests on SQLite and PostgreSQL: migrations, what the ledger counts, the expiry
sweeper, idempotency keys unique, codec round trips, catalogue generation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from services.contact.domain.ledger import Adjustment
from services.contact.domain.model import Channel, ContactRequest, Purpose, ReservationState
from services.contact.settings import ContactSettings
from services.contact.store import catalogue, ledger
from services.contact.store.paths import MIGRATIONS_DIR
from services.contact.tests.factories import cap, policy, rolling
from telco360_runtime.bootstrap import open_store
from telco360_runtime.errors import Aborted, AlreadyExists

NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(db_url):
    database = open_store(ContactSettings(database_url=db_url), MIGRATIONS_DIR)
    yield database
    database.dispose()


def reserve(session, key: str, at: dt.datetime, expires: dt.datetime, customer: str = "C1"):
    request = ContactRequest(customer, Channel.SMS, Purpose.MARKETING, at=at)
    return ledger.insert_reservation(session, ledger.new_id(), key, request, at, at, expires, "d", "Asia/Shanghai", 5)


def test_history_counts_live_and_confirmed_reservations_and_adjustments(db):
    with ledger.account_transaction(db, "C1") as s:
        live = reserve(s, "live", NOW - dt.timedelta(minutes=1), NOW + dt.timedelta(minutes=10))
        lapsed = reserve(s, "lapsed", NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1))
        confirmed = reserve(s, "confirmed", NOW - dt.timedelta(days=1), NOW - dt.timedelta(days=1, minutes=-5))
        cancelled = reserve(s, "cancelled", NOW - dt.timedelta(days=2), NOW + dt.timedelta(days=1))
        reserve(s, "other", NOW, NOW + dt.timedelta(hours=1), customer="C2")
        ledger.insert_adjustment(
            s,
            Adjustment(
                "adj",
                ContactRequest("C1", Channel.SMS, Purpose.MARKETING, at=NOW - dt.timedelta(days=3)),
                -1,
                "bounced",
                "admin",
                NOW,
            ),
        )
    with db.write_session() as s:
        ledger.get_reservation_row(s, confirmed.reservation_id).state = int(ReservationState.CONFIRMED)
        ledger.get_reservation_row(s, cancelled.reservation_id).state = int(ReservationState.CANCELLED)
    with db.session() as s:
        history = ledger.load_history(s, "C1", NOW - dt.timedelta(days=30), NOW)
    assert sorted((c.entry_id, c.weight) for c in history.contacts) == sorted(
        [(live.reservation_id, 1), (confirmed.reservation_id, 1), ("adj", -1)]
    )
    with db.write_session() as s:
        assert ledger.expire_reservations(s, NOW) == 1
    with db.session() as s:
        assert ledger.get_reservation_row(s, live.reservation_id).state == ReservationState.RESERVED
        assert ledger.get_reservation_row(s, lapsed.reservation_id).state == ReservationState.EXPIRED


def test_idempotency_keys_are_unique(db):
    with pytest.raises(IntegrityError):
        with db.write_session() as s:
            reserve(s, "dup", NOW, NOW + dt.timedelta(minutes=5))
            reserve(s, "dup", NOW, NOW + dt.timedelta(minutes=5), customer="C2")


def test_catalogue_versions_and_generation(db):
    base = policy(caps=(cap("sms", 2, rolling(7)),))
    with db.write_session() as s:
        before = catalogue.generation(s)
        stored = catalogue.create_policy(s, base, NOW)
    assert stored.version == 1
    with pytest.raises(AlreadyExists):
        with db.write_session() as s:
            catalogue.create_policy(s, base, NOW)
    with db.write_session() as s:
        catalogue.update_policy(s, base, 1, NOW)
        assert catalogue.generation(s) == before + 2
    with pytest.raises(Aborted):
        with db.write_session() as s:
            catalogue.update_policy(s, base, 1, NOW)
    with db.session() as s:
        assert catalogue.get_policy(s, "base", 1) == stored
        assert catalogue.get_policy(s, "base").version == 2


def test_lock_keys_are_stable_and_distinct():
    assert ledger.lock_key("C1") == ledger.lock_key("C1")
    assert len({ledger.lock_key(f"C{n}") for n in range(10_000)}) == 10_000
    assert all(-(2**63) <= ledger.lock_key(f"C{n}") < 2**63 for n in range(100))
