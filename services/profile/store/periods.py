"""Billing periods in the store: months declared closed, and settling the accounts behind a closed month.

Whether a month is closed is decided by `BillingPeriods.closed_month` (loader) under the
profile's ClosePolicy; this module keeps what that needs besides the bills themselves (an
operator's declaration) and what makes a close take effect for accounts that received no
record (`accounts_behind`, settled once per month).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.profile.domain.billing import month_of_datetime
from services.profile.store.codec import loads, utc
from services.profile.store.models import Account, BillingPeriod

REFERENCE = "fee_reference_months_ago"


def _row(s: Session, month: str) -> BillingPeriod:
    row = s.get(BillingPeriod, month)
    if row is None:
        row = BillingPeriod(month=month, closed_at=None, closed_by="", settled_at=None)
        s.add(row)
    return row


def declare_closed(s: Session, month: str, closed_by: str, now: dt.datetime) -> bool:
    """Record that an operator declared `month` closed at `now`; False when it already was."""
    row = _row(s, month)
    if row.closed_at is not None:
        return False
    row.closed_at = now
    row.closed_by = closed_by[:200]
    s.flush()
    return True


def is_settled(s: Session, month: str) -> bool:
    """Whether the accounts behind `month` were recomputed since it closed."""
    return s.execute(select(BillingPeriod.settled_at).where(BillingPeriod.month == month)).scalar() is not None


def mark_settled(s: Session, month: str, now: dt.datetime) -> None:
    """Remember that the accounts behind `month` were recomputed."""
    _row(s, month).settled_at = now
    s.flush()


def accounts_behind(s: Session, closed: int) -> list[str]:
    """Live accounts whose stored fee features describe a month before `closed`.

    The stored features name the reference month as months before the month they were
    computed in (Account.updated_at). Read once per closed month, so a plain scan will do.
    """
    out = []
    rows = s.execute(
        select(Account.customer_id, Account.features, Account.updated_at)
        .where(Account.erased.is_(False))
        .execution_options(yield_per=2000)
    )
    for cid, features, updated_at in rows:
        ago = loads(features).get(REFERENCE)
        if ago is not None and month_of_datetime(utc(updated_at)) - int(ago) < closed:
            out.append(cid)
    return sorted(out)
