"""Erasure tombstones and history retention in the contact store (issue #15).

`apply_erasure` runs in one transaction under the account's lock (the caller opens it with
ledger.account_transaction), so no reservation, outcome or consent of the account can be
written between the deletions and the tombstone; every later write checks the tombstone in
its own transaction (`is_erased`) and is refused.

What ApplyErasure removes and what it keeps:
- deleted: the account's decisions (traces name its persons), reservations and reserve
  requests, counter adjustments, outcomes, campaign proposals and consent records, and its
  opt-outs that are lifted, expired or name a person;
- kept: its account-wide opt-outs still in force, as bare suppressions (kind, channels,
  purposes, period; person, reason and source blanked), so that a customer who said "do not
  contact us" is still not contacted if the account is ever reactivated; the aggregates
  that name no account (campaign spend, answers per offer and segment, processed event ids);
  the tombstone (id, erasure id, time, counts) and the audit trail (ids, never values).
- the frequency policy needs nothing of the erased account's ledger: every cap and cool-down
  counts one account's own contacts, and an erased account is refused before any rule runs.
  A reactivated account starts with empty counters (AdjustCounter can restore one).

`delete_history_before` is the retention sweep (setting `history_retention_days`): decisions,
reservations and reserve requests recorded before a cut-off, in bounded chunks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from services.contact.domain.erasure import AccountErased, Erasure
from services.contact.store.models import (
    AdjustmentRow,
    ConsentRow,
    DecisionRow,
    ErasedAccountRow,
    OptOutRow,
    OutcomeRow,
    ProposalRow,
    ReservationRow,
    ReserveRequestRow,
)
from services.contact.store.timeutil import from_us, to_us

#: What a kept opt-out's source reads after the erasure (its own source may name a person).
ERASED_SOURCE = "erased"
#: Rows deleted per table and retention round (one bounded statement each).
RETENTION_CHUNK = 5000


def _count(session: Session, statement: Any) -> int:
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)


def is_erased(session: Session, customer_id: str) -> bool:
    """Whether the account has a tombstone."""
    return session.get(ErasedAccountRow, customer_id) is not None


def refuse_if_erased(session: Session, customer_id: str) -> None:
    """AccountErased when the account has a tombstone (checked inside a write, before it writes)."""
    if customer_id and is_erased(session, customer_id):
        raise AccountErased(customer_id)


def erased_among(session: Session, customer_ids: Sequence[str]) -> set[str]:
    """The ids of `customer_ids` that have a tombstone."""
    found: set[str] = set()
    unique = [c for c in dict.fromkeys(customer_ids) if c]
    for i in range(0, len(unique), 500):  # bound the IN list (SQLite's variable limit)
        chunk = unique[i : i + 500]
        found.update(
            session.scalars(select(ErasedAccountRow.customer_id).where(ErasedAccountRow.customer_id.in_(chunk)))
        )
    return found


def _erasure(row: ErasedAccountRow, repeated: bool) -> Erasure:
    removed = {str(k): int(v) for k, v in json.loads(row.removed).items()}
    return Erasure(row.customer_id, row.erasure_id, from_us(row.erased_at_us), removed, repeated)


def apply_erasure(session: Session, customer_id: str, erasure_id: str, now: dt.datetime) -> Erasure:
    """Delete or strip the account's history and leave its tombstone (see the module docstring).

    A repeat (tombstone already there) changes nothing and answers the first application."""
    row = session.get(ErasedAccountRow, customer_id)
    if row is not None:
        return _erasure(row, repeated=True)
    now_us = to_us(now)
    removed: dict[str, int] = {}
    for label, model in (
        ("decisions", DecisionRow),
        ("reservations", ReservationRow),
        ("reserve_requests", ReserveRequestRow),
        ("adjustments", AdjustmentRow),
        ("outcomes", OutcomeRow),
        ("proposals", ProposalRow),
        ("consents", ConsentRow),
    ):
        removed[label] = _count(session, delete(model).where(model.customer_id == customer_id))
    mine = OptOutRow.customer_id == customer_id
    in_force = (
        (OptOutRow.person_id == "")
        & OptOutRow.removed_at_us.is_(None)
        & or_(OptOutRow.expires_at_us.is_(None), OptOutRow.expires_at_us > now_us)
    )
    removed["opt_outs"] = _count(session, delete(OptOutRow).where(mine, ~in_force))
    removed["opt_outs_kept_as_suppression"] = _count(
        session,
        update(OptOutRow).where(mine, in_force).values(reason="", source=ERASED_SOURCE, removed_reason=""),
    )
    row = ErasedAccountRow(
        customer_id=customer_id,
        erasure_id=erasure_id,
        erased_at_us=now_us,
        removed=json.dumps(removed, sort_keys=True),
    )
    session.add(row)
    session.flush()
    return _erasure(row, repeated=False)


def lift_erasure(session: Session, customer_id: str) -> bool:
    """Remove the account's tombstone; False when there was none."""
    return _count(session, delete(ErasedAccountRow).where(ErasedAccountRow.customer_id == customer_id)) > 0


def delete_history_before(session: Session, cutoff: dt.datetime, limit: int = RETENTION_CHUNK) -> dict[str, int]:
    """Delete up to `limit` decisions, reservations and reserve requests (each) recorded before
    `cutoff`; a reservation only once it no longer holds a slot (its expiry passed too).

    Reservations and their reserve requests are recorded in the same transaction at the same
    moment, so an idempotency key never outlives the reservation it answers with (a replay
    after retention is a new request). Counts per table."""
    cut = to_us(cutoff)
    out: dict[str, int] = {}
    for label, model, key, when, extra in (
        ("decisions", DecisionRow, DecisionRow.decision_id, DecisionRow.decided_at_us, None),
        (
            "reservations",
            ReservationRow,
            ReservationRow.reservation_id,
            ReservationRow.reserved_at_us,
            ReservationRow.expires_at_us < cut,
        ),
        (
            "reserve_requests",
            ReserveRequestRow,
            ReserveRequestRow.idempotency_key,
            ReserveRequestRow.created_at_us,
            None,
        ),
    ):
        query = select(key).where(when < cut)
        if extra is not None:
            query = query.where(extra)
        ids = session.scalars(query.limit(limit)).all()
        out[label] = _count(session, delete(model).where(key.in_(ids))) if ids else 0
    return out
