"""The contact ledger: per-account locking, reservations, adjustments, outcomes, history.

Atomicity of ReserveContact: the check and the insert run in ONE transaction that first
takes a per-account lock, so two replicas racing for an account's last slot are
serialised and the second one sees the first one's reservation:
- PostgreSQL: `pg_advisory_xact_lock(<64-bit hash of the customer id>)`, released at
  commit or rollback. Under READ COMMITTED every later statement of the transaction sees
  all transactions committed before the lock was granted.
- SQLite: the session is opened with BEGIN IMMEDIATE (telco360_runtime.db.write_session),
  which takes the database write lock up front: writers are serialised globally.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Iterator

from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.orm import Session

from services.contact.domain.ledger import Adjustment, OutcomeRecord, Reservation
from services.contact.domain.model import (
    Channel,
    ContactRequest,
    OfferCategory,
    OutcomeKind,
    Purpose,
    ReservationState,
)
from services.contact.store.history import load_history, load_history_and_key
from services.contact.store.models import (
    AdjustmentRow,
    OfferStatsRow,
    OutcomeRow,
    ReservationRow,
    ReserveRequestRow,
)
from telco360_runtime.db import Database
from telco360_runtime.errors import NotFound

__all__ = [
    "load_history",
    "load_history_and_key",
]  # re-exported: the rules' view of an account lives in store/history.py
from services.contact.store.timeutil import from_us, opt_dt, to_us


def new_id() -> str:
    """A fresh 32-character id."""
    return uuid.uuid4().hex


def lock_key(customer_id: str) -> int:
    """Signed 64-bit advisory lock key of an account."""
    digest = hashlib.blake2b(f"contact-account:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_SQLITE_WRITERS: dict[int, threading.Lock] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Session]:
    """A write transaction; on SQLite, this process's writers queue on a lock first.

    SQLite lets one writer in at a time; waiting threads otherwise poll the file lock with
    SQLite's busy handler, which sleeps up to 100 ms between tries and makes long tails.
    Queueing on an in-process lock hands the write lock over as soon as it is free (other
    processes on the same file still meet at BEGIN IMMEDIATE).
    """
    if not db.is_sqlite:
        with db.write_session() as session:
            yield session
        return
    with _GUARD:
        lock = _SQLITE_WRITERS.setdefault(id(db), threading.Lock())
    with lock, db.write_session() as session:
        yield session


@contextlib.contextmanager
def account_transaction(db: Database, customer_id: str) -> Iterator[Session]:
    """A write transaction holding the account's lock until commit (see module docstring).

    The lock is held when this yields, on both back ends: on SQLite the transaction (and
    with it BEGIN IMMEDIATE, the write lock) would otherwise start only at the first
    statement, and a clock read before it would not be ordered by the lock.
    """
    with write_transaction(db) as session:
        if db.is_sqlite:
            session.connection()  # BEGIN IMMEDIATE now
        else:
            session.execute(_LOCK, {"k": lock_key(customer_id)})
        yield session


_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
# The generation comes back with the lock: one round trip instead of two on the hot path.
_LOCK_AND_GENERATION = text(
    "SELECT pg_advisory_xact_lock(:k), (SELECT generation FROM catalogue_generation WHERE id = 1) AS generation"
)
_GENERATION = text("SELECT generation FROM catalogue_generation WHERE id = 1")


@contextlib.contextmanager
def locked_account(db: Database, customer_id: str) -> Iterator[tuple[Session, int]]:
    """Like `account_transaction`, also yielding the catalogue generation (read with the lock).

    On PostgreSQL the generation is read by the locking statement's snapshot, i.e. as of
    just before any wait for the lock: a catalogue change committed during that wait applies
    from the next decision. The ledger itself is read by later statements, after the lock.
    """
    with write_transaction(db) as session:
        if db.is_sqlite:
            generation = session.execute(_GENERATION).scalar()
        else:
            generation = session.execute(_LOCK_AND_GENERATION, {"k": lock_key(customer_id)}).one().generation
        yield session, int(generation or 0)


# ---------------------------------------------------------------------------------------
# Reservations
# ---------------------------------------------------------------------------------------


def _request(row: ReservationRow | AdjustmentRow) -> ContactRequest:
    return ContactRequest(
        customer_id=row.customer_id,
        channel=Channel(row.channel),
        purpose=Purpose(row.purpose),
        person_id=row.person_id,
        category=OfferCategory(getattr(row, "category", 0)),
        campaign_id=row.campaign_id,
        offer_id=row.offer_id,
        at=from_us(row.at_us),
    )


def to_reservation(row: ReservationRow) -> Reservation:
    """The domain record of a reservation row."""
    return Reservation(
        reservation_id=row.reservation_id,
        idempotency_key=row.idempotency_key,
        request=_request(row),
        state=ReservationState(row.state),
        reserved_at=from_us(row.reserved_at_us),
        expires_at=from_us(row.expires_at_us),
        decision_id=row.decision_id,
        closed_at=opt_dt(row.closed_at_us),
        external_ref=row.external_ref,
        cancel_reason=row.cancel_reason,
    )


def find_reserve_request(session: Session, key: str) -> ReserveRequestRow | None:
    """The earlier ReserveContact with this idempotency key, if any."""
    return session.get(ReserveRequestRow, key)


def record_reserve_request(
    session: Session,
    key: str,
    fingerprint: str,
    customer_id: str,
    decision_id: str,
    reservation_id: str,
    now: dt.datetime,
) -> None:
    """Remember the answer given to an idempotency key (a plain INSERT: hot path, no ORM unit of work)."""
    session.execute(
        insert(ReserveRequestRow),
        {
            "idempotency_key": key,
            "fingerprint": fingerprint,
            "customer_id": customer_id,
            "decision_id": decision_id,
            "reservation_id": reservation_id,
            "created_at_us": to_us(now),
        },
    )


def insert_reservation(
    session: Session,
    reservation_id: str,
    key: str,
    request: ContactRequest,
    at: dt.datetime,
    now: dt.datetime,
    expires_at: dt.datetime,
    decision_id: str,
    time_zone: str,
    tier: int,
) -> Reservation:
    """Record a granted reservation (a plain INSERT: hot path, no ORM unit of work)."""
    values = dict(
        reservation_id=reservation_id,
        idempotency_key=key,
        customer_id=request.customer_id,
        person_id=request.person_id,
        channel=int(request.channel),
        purpose=int(request.purpose),
        category=int(request.category),
        campaign_id=request.campaign_id,
        offer_id=request.offer_id,
        at_us=to_us(at),
        state=int(ReservationState.RESERVED),
        reserved_at_us=to_us(now),
        expires_at_us=to_us(expires_at),
        closed_at_us=None,
        external_ref="",
        cancel_reason="",
        decision_id=decision_id,
        time_zone=time_zone,
        tier=tier,
    )
    session.execute(insert(ReservationRow), values)
    return to_reservation(ReservationRow(**values))


def get_reservation_row(session: Session, reservation_id: str) -> ReservationRow:
    """A reservation row; NOT_FOUND when unknown."""
    row = session.get(ReservationRow, reservation_id)
    if row is None:
        raise NotFound("reservation", reservation_id)
    return row


def reservation_customer(db: Database, reservation_id: str) -> str:
    """The account of a reservation (to take its lock before changing it)."""
    with db.session() as session:
        return get_reservation_row(session, reservation_id).customer_id


def expire_reservations(session: Session, now: dt.datetime, limit: int = 5000) -> int:
    """Mark reservations past their expiry EXPIRED (counting never depends on this)."""
    now_us = to_us(now)
    ids = session.scalars(
        select(ReservationRow.reservation_id)
        .where(ReservationRow.state == int(ReservationState.RESERVED), ReservationRow.expires_at_us <= now_us)
        .limit(limit)
    ).all()
    if not ids:
        return 0
    session.execute(
        update(ReservationRow)
        .where(ReservationRow.reservation_id.in_(ids), ReservationRow.state == int(ReservationState.RESERVED))
        .values(state=int(ReservationState.EXPIRED), closed_at_us=ReservationRow.expires_at_us)
    )
    return len(ids)


def _counting(now_us: int):
    """SQL condition: the reservation holds a slot at now."""
    return or_(
        ReservationRow.state == int(ReservationState.CONFIRMED),
        and_(ReservationRow.state == int(ReservationState.RESERVED), ReservationRow.expires_at_us > now_us),
    )


# ---------------------------------------------------------------------------------------
# Adjustments and outcomes
# ---------------------------------------------------------------------------------------


def insert_adjustment(session: Session, adjustment: Adjustment) -> None:
    """Record an audited admin correction."""
    s = adjustment.scope
    session.add(
        AdjustmentRow(
            adjustment_id=adjustment.adjustment_id,
            customer_id=s.customer_id,
            person_id=s.person_id,
            channel=int(s.channel),
            purpose=int(s.purpose),
            campaign_id=s.campaign_id,
            offer_id=s.offer_id,
            at_us=to_us(s.at or adjustment.recorded_at),
            delta=adjustment.delta,
            reason=adjustment.reason,
            actor=adjustment.actor,
            recorded_at_us=to_us(adjustment.recorded_at),
        )
    )


def to_adjustment(row: AdjustmentRow) -> Adjustment:
    """The domain record of an adjustment row."""
    return Adjustment(
        adjustment_id=row.adjustment_id,
        scope=_request(row),
        delta=row.delta,
        reason=row.reason,
        actor=row.actor,
        recorded_at=from_us(row.recorded_at_us),
    )


def to_outcome(row: OutcomeRow) -> OutcomeRecord:
    """The domain record of an outcome row."""
    return OutcomeRecord(
        outcome_id=row.outcome_id,
        customer_id=row.customer_id,
        kind=OutcomeKind(row.kind),
        occurred_at=from_us(row.occurred_at_us),
        person_id=row.person_id,
        channel=Channel(row.channel) if row.channel else None,
        offer_id=row.offer_id,
        campaign_id=row.campaign_id,
        reservation_id=row.reservation_id,
        idempotency_key=row.idempotency_key or "",
        category=OfferCategory(row.category),
        segment=row.segment,
    )


def find_outcome_by_key(session: Session, key: str) -> OutcomeRecord | None:
    """The outcome recorded earlier with this idempotency key, if any."""
    row = session.scalar(select(OutcomeRow).where(OutcomeRow.idempotency_key == key))
    return to_outcome(row) if row is not None else None


def insert_outcome(session: Session, record: OutcomeRecord, now: dt.datetime) -> None:
    """Record an outcome and, for customer answers about an offer, update the offer stats."""
    session.add(
        OutcomeRow(
            outcome_id=record.outcome_id,
            idempotency_key=record.idempotency_key or None,
            customer_id=record.customer_id,
            person_id=record.person_id,
            channel=int(record.channel) if record.channel else 0,
            offer_id=record.offer_id,
            category=int(record.category),
            campaign_id=record.campaign_id,
            reservation_id=record.reservation_id,
            kind=int(record.kind),
            occurred_at_us=to_us(record.occurred_at),
            recorded_at_us=to_us(now),
            segment=record.segment,
        )
    )
    field = {
        OutcomeKind.ACCEPTED: "accepted",
        OutcomeKind.DECLINED: "declined",
        OutcomeKind.COMPLAINED: "declined",
    }.get(record.kind)
    if field is None or not record.offer_id:
        return
    stats = session.get(OfferStatsRow, (record.offer_id, record.segment), with_for_update=True)
    if stats is None:
        stats = OfferStatsRow(offer_id=record.offer_id, segment=record.segment, accepted=0, declined=0)
        session.add(stats)
    setattr(stats, field, getattr(stats, field) + 1)


def all_offer_stats(session: Session) -> dict[str, dict[str, tuple[int, int]]]:
    """(accepted, declined) per segment and offer id (a small table: offers × segments)."""
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for r in session.execute(
        select(OfferStatsRow.offer_id, OfferStatsRow.segment, OfferStatsRow.accepted, OfferStatsRow.declined)
    ).all():
        found.setdefault(r.segment, {})[r.offer_id] = (r.accepted, r.declined)
    return found


# ---------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------


def latest_outcomes(session: Session, reservation_ids: list[str]) -> dict[str, OutcomeKind]:
    """The latest outcome (by occurred_at, then recorded_at) of each reservation that has one."""
    if not reservation_ids:
        return {}
    rows = session.execute(
        select(OutcomeRow.reservation_id, OutcomeRow.kind)
        .where(OutcomeRow.reservation_id.in_(reservation_ids))
        .order_by(OutcomeRow.occurred_at_us, OutcomeRow.recorded_at_us)
    ).all()
    return {r.reservation_id: OutcomeKind(r.kind) for r in rows}  # later rows overwrite earlier ones


def list_ledger(
    session: Session,
    customer_id: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    after: tuple[dt.datetime, str] | None,
    limit: int,
    confirmed_only: bool = False,
) -> list[Reservation | Adjustment]:
    """Up to `limit` of an account's reservations and adjustments in a time range, newest
    first ((time, id) descending), strictly after the key `after`, each reservation with
    its latest outcome. `confirmed_only`: confirmed reservations only (the
    filter runs in SQL, so a page holds the newest N confirmed contacts)."""
    conds_r = [ReservationRow.customer_id == customer_id]
    conds_a = [AdjustmentRow.customer_id == customer_id]
    if confirmed_only:
        conds_r.append(ReservationRow.state == int(ReservationState.CONFIRMED))
    if since is not None:
        conds_r.append(ReservationRow.at_us >= to_us(since))
        conds_a.append(AdjustmentRow.at_us >= to_us(since))
    if until is not None:
        conds_r.append(ReservationRow.at_us < to_us(until))
        conds_a.append(AdjustmentRow.at_us < to_us(until))
    if after is not None:
        at, item_id = to_us(after[0]), after[1]
        conds_r.append(
            or_(ReservationRow.at_us < at, and_(ReservationRow.at_us == at, ReservationRow.reservation_id < item_id))
        )
        conds_a.append(
            or_(AdjustmentRow.at_us < at, and_(AdjustmentRow.at_us == at, AdjustmentRow.adjustment_id < item_id))
        )
    reservations = session.scalars(
        select(ReservationRow)
        .where(*conds_r)
        .order_by(ReservationRow.at_us.desc(), ReservationRow.reservation_id.desc())
        .limit(limit)
    ).all()
    adjustments = (
        []
        if confirmed_only
        else session.scalars(
            select(AdjustmentRow)
            .where(*conds_a)
            .order_by(AdjustmentRow.at_us.desc(), AdjustmentRow.adjustment_id.desc())
            .limit(limit)
        ).all()
    )
    outcomes = latest_outcomes(session, [r.reservation_id for r in reservations])
    entries: list[Reservation | Adjustment] = [
        dataclasses.replace(to_reservation(r), outcome=outcomes.get(r.reservation_id)) for r in reservations
    ]
    entries += [to_adjustment(a) for a in adjustments]

    def key(entry: Reservation | Adjustment) -> tuple[int, str]:
        if isinstance(entry, Reservation):
            return to_us(entry.request.at) if entry.request.at else 0, entry.reservation_id
        return to_us(entry.scope.at or entry.recorded_at), entry.adjustment_id

    entries.sort(key=key, reverse=True)
    return entries[:limit]
