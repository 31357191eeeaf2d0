"""Erasure and retention in the ingest store (store layer, issue #15; rules in domain/erasure.py).

Every function here runs inside the caller's transaction (IngestStore opens it) and starts
by taking the log's writer lock (`batch.LOCK_HEAD`): an erasure is serialised with every
batch, so no batch of the account commits half before and half after it, and a batch that
commits after it sees the tombstone and refuses the account's records.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, or_, select, update

from services.ingest.domain.erasure import CHUNK, Erasure, blank_payload
from services.ingest.domain.hashing import payload_hash
from services.ingest.store.batch import LOCK_HEAD
from services.ingest.store.models import ErasedAccountRow, LogRow, QuarantineRow, QuarantineViolationRow, RecordRow

_ERASED = cast(Table, ErasedAccountRow.__table__)
_LOG = cast(Table, LogRow.__table__)
_RECORDS = cast(Table, RecordRow.__table__)
_Q = cast(Table, QuarantineRow.__table__)
_QV = cast(Table, QuarantineViolationRow.__table__)

_SCRUB = (
    update(_LOG).where(_LOG.c.sequence == bindparam("b_sequence")).values(payload=bindparam("b_payload"), scrubbed=True)
)
_ERASE = (
    update(_LOG)
    .where(_LOG.c.sequence == bindparam("b_sequence"))
    .values(payload=bindparam("b_payload"), scrubbed=True, erased=True)
)
_REHASH = (
    update(_RECORDS)
    .where(_RECORDS.c.source == bindparam("k_source"), _RECORDS.c.source_record_id == bindparam("k_id"))
    .values(payload_hash=bindparam("b_hash"))
)


def _utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite hands back naive datetimes)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _stored(row) -> Erasure:
    return Erasure(
        customer_id=row.customer_id,
        erasure_id=row.erasure_id,
        erased_at=_utc(row.erased_at),
        removed={str(k): int(v) for k, v in dict(row.removed).items()},
        repeated=True,
    )


def apply_erasure(conn: Connection, customer_id: str, erasure_id: str, now: dt.datetime) -> Erasure:
    """Erase an account's personal data and store its tombstone; a repeat answers the stored one.

    - every log entry of the account (by the customer_id of each version, so a record that
      moved to another account later keeps that account's versions): payload blanked,
      marked erased and scrubbed;
    - its records' latest-version digests recomputed from the blanked payloads (no digest of
      a personal payload is kept; after a reactivation a re-sent record is a correction);
    - its quarantine entries (by customer_id, trimmed as validation trims it) deleted with
      their violations, resolved or not.
    """
    conn.execute(LOCK_HEAD)
    existing = conn.execute(select(_ERASED).where(_ERASED.c.customer_id == customer_id)).first()
    if existing is not None:
        return _stored(existing)
    removed = {"log_payloads": 0, "log_entries": 0, "record_hashes": 0, "quarantine_entries": 0}
    c = _LOG.c
    after = -1
    while True:
        rows = conn.execute(
            select(c.sequence, c.payload)
            .where(c.customer_id == customer_id, c.sequence > after)
            .order_by(c.sequence)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        changes = []
        for sequence, payload in rows:
            blanked = blank_payload(payload)
            removed["log_payloads"] += blanked != payload
            changes.append({"b_sequence": sequence, "b_payload": blanked})
        conn.execute(_ERASE, changes)
        removed["log_entries"] += len(rows)
        after = rows[-1][0]

    r = _RECORDS.c
    rows = conn.execute(
        select(r.source, r.source_record_id, c.payload)
        .join(_LOG, c.sequence == r.sequence)
        .where(r.customer_id == customer_id)
    ).all()
    if rows:
        conn.execute(_REHASH, [{"k_source": s, "k_id": i, "b_hash": payload_hash(payload)} for s, i, payload in rows])
    removed["record_hashes"] = len(rows)

    q = _Q.c
    ids = [
        row[0]
        for row in conn.execute(
            select(q.id).where(or_(q.customer_id == customer_id, func.trim(q.customer_id) == customer_id))
        )
    ]
    removed["quarantine_entries"] = _delete_quarantine(conn, ids)

    conn.execute(insert(_ERASED).values(customer_id=customer_id, erasure_id=erasure_id, erased_at=now, removed=removed))
    return Erasure(customer_id, erasure_id, now, removed)


def lift_erasure(conn: Connection, customer_id: str) -> bool:
    """Delete an account's tombstone; False when there was none. Blanked entries stay blanked,
    but no longer read as erased: a consumer rebuilding from the log (profile) would otherwise
    erase the reactivated account again at its old entries and ignore everything after them."""
    conn.execute(LOCK_HEAD)
    lifted = conn.execute(delete(_ERASED).where(_ERASED.c.customer_id == customer_id)).rowcount > 0
    if lifted:
        conn.execute(update(_LOG).where(_LOG.c.customer_id == customer_id).values(erased=False))
    return lifted


def get_erasure(conn: Connection, customer_id: str) -> Erasure | None:
    """The account's tombstone, if any."""
    row = conn.execute(select(_ERASED).where(_ERASED.c.customer_id == customer_id)).first()
    return None if row is None else _stored(row)


def _delete_quarantine(conn: Connection, ids: list[int]) -> int:
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        conn.execute(delete(_QV).where(_QV.c.quarantine_id.in_(chunk)))
        conn.execute(delete(_Q).where(_Q.c.id.in_(chunk)))
    return len(ids)


def expire_quarantine(conn: Connection, before_us: int) -> int:
    """Delete up to CHUNK quarantine entries received before `before_us` (resolved or not);
    answers how many (fewer than CHUNK: none left)."""
    conn.execute(LOCK_HEAD)
    ids = [
        row[0]
        for row in conn.execute(select(_Q.c.id).where(_Q.c.received_at_us < before_us).order_by(_Q.c.id).limit(CHUNK))
    ]
    return _delete_quarantine(conn, ids)


def scrub_old_payloads(conn: Connection, before_us: int) -> tuple[int, int]:
    """Blank the personal fields of up to CHUNK not yet scrubbed log entries ingested before
    `before_us`: (entries scanned, payloads changed); fewer than CHUNK scanned: none left.

    Entries stay (the log's order and facts are kept) and are not marked erased: their
    accounts are not erased, only their old personal values are past retention. Record
    digests stay, so a re-sent old record is still a duplicate and does not bring the
    values back into the log.
    """
    conn.execute(LOCK_HEAD)
    c = _LOG.c
    rows = conn.execute(
        select(c.sequence, c.payload)
        .where(c.scrubbed.is_(False), c.ingested_at_us < before_us)
        .order_by(c.sequence)
        .limit(CHUNK)
    ).all()
    if not rows:
        return 0, 0
    changes = []
    blanked = 0
    for sequence, payload in rows:
        new = blank_payload(payload)
        blanked += new != payload
        changes.append({"b_sequence": sequence, "b_payload": new})
    conn.execute(_SCRUB, changes)
    return len(rows), blanked
