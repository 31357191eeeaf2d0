"""Loading what was known about accounts at a moment, as domain inputs for features.

`as_of=None` means "now" and reads only current versions (the fast path); a past as_of
reads the versions that were ingested, not yet superseded, and had occurred by then.

Fee features need the base's latest closed billing month at the same moment
(`BillingPeriods.closed_month`): counted from the bills visible then and the months an
operator had declared closed by then, so a past as_of never sees a later bill or close.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.profile.domain.billing import (
    BillingFacts,
    ClosePolicy,
    RevenueBase,
    month_index,
    month_of_datetime,
    month_str,
)
from services.profile.domain.features import AccountInput, FeatureResult, compute_features
from services.profile.domain.margin import CostFacts
from services.profile.domain.merge import merge_account
from services.profile.domain.model import Fact, Score
from services.profile.store.codec import chunks, loads, utc
from services.profile.store.models import (
    AccountFact,
    BillingFact,
    BillingMonth,
    BillingPeriod,
    CostFact,
    Erasure,
    ScoreRow,
)

EVENT_KINDS = ("service_event", "interaction")
EVENT_HORIZON = dt.timedelta(days=400)


def visible(model: type[AccountFact] | type[BillingFact] | type[CostFact], as_of: dt.datetime | None):
    """SQL condition: the version was what the suite knew at as_of (current when None)."""
    if as_of is None:
        return model.superseded_at.is_(None)
    return and_(
        model.ingested_at <= as_of,
        or_(model.superseded_at.is_(None), model.superseded_at > as_of),
        model.occurred_at <= as_of,
    )


PERIODS_KEY = "profile.billing_periods"
"""Key in `Session.info` of the store's BillingPeriods (absent: default policy, nothing cached)."""

#: Months looked at below the latest billed one; a month this far back counts as closed anyway.
CLOSE_LOOKBACK_MONTHS = 3


@dataclass
class Loaded:
    """Inputs for features of a batch of accounts."""

    inputs: list[AccountInput]
    billing: BillingFacts
    closed_month: int | None
    costs: CostFacts | None = None
    """Visible cost records of the same months as the bills (margin features)."""

    @property
    def ref_month(self) -> int | None:
        """The base's latest closed month (what compute_features takes; each account's own
        reference month is derived from it and the account's bills)."""
        return self.closed_month


class _LiveBilled:
    """Accounts with a bill per recent month in the current data, kept up to date by row id.

    Counting a month's billed accounts in SQL costs a scan of the month's rows, on every
    recompute; instead the sets are loaded once and then extended with the rows added since
    (every new bill or correction is a new row with a higher id: writes are serialised by the
    writer lock, so ids grow in commit order). Used under BillingPeriods' lock. Rows seen inside
    a write transaction that then rolls back stay counted: the consumer applies the same
    entries again, so they name the same accounts; an erased account stays counted until restart.
    """

    def __init__(self) -> None:
        self.low: int | None = None
        self.last_id = 0
        self.billed: dict[int, set[str]] = defaultdict(set)

    def counts(self, s: Session, low: int, before: int) -> dict[int, int]:
        if self.low is None or low < self.low:
            self.last_id = int(s.execute(select(func.max(BillingFact.id))).scalar() or 0)
            self.billed = defaultdict(set)
            for month, cid in s.execute(
                select(BillingFact.month, BillingFact.customer_id)
                .where(BillingFact.month >= month_str(low), BillingFact.superseded_at.is_(None))
                .distinct()
            ):
                self.billed[month_index(month)].add(cid)
            self.low = low
        else:
            for row_id, month, cid in s.execute(
                select(BillingFact.id, BillingFact.month, BillingFact.customer_id).where(BillingFact.id > self.last_id)
            ):
                self.last_id = max(self.last_id, int(row_id))
                index = month_index(month)
                if index >= self.low:
                    self.billed[index].add(cid)
            if low > self.low:  # months below the closed one are no longer needed
                for index in [i for i in self.billed if i < low]:
                    del self.billed[index]
                self.low = low
        return {m: len(ids) for m, ids in self.billed.items() if low <= m < before and ids}


class BillingPeriods:
    """The base's latest closed billing month at a moment, under a ClosePolicy.

    One per store. For "now" it keeps the accounts billed per recent month in memory
    (`_LiveBilled`) and the month found closed as a floor (closing only moves forward as bills
    arrive); past as_of answers are cached by what they depend on (the highest billing row id
    and the declared closes), since an export asks for the same as_of once per batch.
    """

    def __init__(self, policy: ClosePolicy | None = None) -> None:
        self.policy = policy or ClosePolicy()
        self._lock = threading.Lock()
        self._closed_now: int | None = None
        self._live = _LiveBilled()
        self._past: dict[tuple, int | None] = {}

    @property
    def known_closed_now(self) -> int | None:
        """The latest month this store has found closed for the current data (None: not looked yet)."""
        with self._lock:
            return self._closed_now

    def closed_month(self, s: Session, as_of: dt.datetime | None, now: dt.datetime) -> int | None:
        """The latest closed month before the month of as_of (None = now), or None."""
        if as_of is None:
            with self._lock:
                closed = latest_closed_month(s, self.policy, None, now, self._closed_now, self._live.counts)
                if closed is not None and (self._closed_now is None or closed > self._closed_now):
                    self._closed_now = closed
                return closed
        key = (
            as_of,
            s.execute(select(func.max(BillingFact.id))).scalar(),
            tuple(
                s.execute(
                    select(BillingPeriod.month, BillingPeriod.closed_at)
                    .where(BillingPeriod.closed_at.is_not(None))
                    .order_by(BillingPeriod.month)
                ).all()
            ),
        )
        with self._lock:
            if key in self._past:
                return self._past[key]
        closed = latest_closed_month(s, self.policy, as_of, as_of, None)
        with self._lock:
            if len(self._past) >= 8:
                self._past.pop(next(iter(self._past)))
            self._past[key] = closed
        return closed


def periods_of(s: Session) -> BillingPeriods:
    """The store's BillingPeriods set on the session, or a default one (nothing cached)."""
    periods = s.info.get(PERIODS_KEY)
    return periods if periods is not None else BillingPeriods()


def billed_accounts(s: Session, as_of: dt.datetime | None, low: str, before: str) -> dict[int, int]:
    """Accounts with a visible bill per month, for months from `low` up to (not including) `before`."""
    rows = s.execute(
        select(BillingFact.month, func.count(func.distinct(BillingFact.customer_id)))
        .where(BillingFact.month >= low, BillingFact.month < before, visible(BillingFact, as_of))
        .group_by(BillingFact.month)
    ).all()
    return {month_index(month): int(count) for month, count in rows}


def declared_closed(s: Session, at: dt.datetime) -> list[int]:
    """Months an operator had declared closed by `at`."""
    return [
        month_index(m)
        for m in s.execute(
            select(BillingPeriod.month).where(BillingPeriod.closed_at.is_not(None), BillingPeriod.closed_at <= at)
        ).scalars()
    ]


def latest_closed_month(
    s: Session,
    policy: ClosePolicy,
    as_of: dt.datetime | None,
    effective: dt.datetime,
    floor: int | None = None,
    counts=None,
) -> int | None:
    """The latest closed month at `effective` from what was visible then (`floor`: a month known closed;
    `counts(s, low, before)`: accounts billed per month, counted in SQL when not given)."""
    declared = declared_closed(s, effective)
    latest = latest_visible_month(s, effective)
    if latest is None:
        return max(declared, default=floor)
    low = month_index(latest) - CLOSE_LOOKBACK_MONTHS
    declared.append(low)  # this far behind the latest bills a month counts as closed anyway
    if floor is not None:
        low = max(low, floor)
        declared.append(floor)
    before = month_of_datetime(effective)
    if counts is None:
        billed = billed_accounts(s, as_of, month_str(low), month_str(before))
    else:
        billed = counts(s, low, before)
    return policy.latest_closed(effective, billed, declared)


def latest_visible_month(s: Session, as_of: dt.datetime) -> str | None:
    """The latest billing month visible at as_of and before as_of's month."""
    before = month_str(month_of_datetime(as_of))
    return s.execute(
        select(func.max(BillingMonth.month)).where(BillingMonth.first_visible_at <= as_of, BillingMonth.month < before)
    ).scalar()


def known_customers(s: Session, customer_ids: list[str], as_of: dt.datetime | None) -> set[str]:
    """Which of the ids had any visible record at as_of (erased accounts excluded)."""
    found: set[str] = set()
    for part in chunks(customer_ids):
        found.update(
            s.execute(
                select(AccountFact.customer_id)
                .where(AccountFact.customer_id.in_(part), visible(AccountFact, as_of))
                .distinct()
            ).scalars()
        )
        found.update(
            s.execute(
                select(BillingFact.customer_id)
                .where(BillingFact.customer_id.in_(part), visible(BillingFact, as_of))
                .distinct()
            ).scalars()
        )
        found.difference_update(s.execute(select(Erasure.customer_id).where(Erasure.customer_id.in_(part))).scalars())
    return found


def load_inputs(
    s: Session,
    customer_ids: list[str],
    as_of: dt.datetime | None,
    now: dt.datetime,
    priority: dict[str, int] | None = None,
) -> Loaded:
    """Merged accounts, facts, billing and scores of the accounts as known at as_of (None = now)."""
    effective = as_of or now
    index = {cid: i for i, cid in enumerate(customer_ids)}
    facts: dict[str, list[Fact]] = defaultdict(list)
    for part in chunks(customer_ids):
        # Service events and interactions older than the longest feature window are not read.
        recent = or_(AccountFact.kind.not_in(EVENT_KINDS), AccountFact.occurred_at >= effective - EVENT_HORIZON)
        rows = s.execute(
            select(
                AccountFact.customer_id,
                AccountFact.kind,
                AccountFact.occurred_at,
                AccountFact.sequence,
                AccountFact.source,
                AccountFact.payload,
            ).where(AccountFact.customer_id.in_(part), visible(AccountFact, as_of), recent)
        )
        for cid, kind, occurred, seq, source, payload in rows:
            facts[cid].append(Fact(kind, utc(occurred), seq, source, loads(payload)))
    closed = periods_of(s).closed_month(s, as_of, now)
    before = month_of_datetime(effective)
    # Each account's reference month is the closed month or later (or, with none closed, its
    # own latest month): the window reaches 11 months below the lowest and up to as_of's month.
    start = closed if closed is not None else latest_month_index(s, effective)
    billing_rows: list[Any] = []
    cost_rows: list[Any] = []
    if start is not None:
        low, high = month_str(start - 11), month_str(before - 1)
        for part in chunks(customer_ids):
            billing_rows.extend(
                s.execute(
                    select(
                        BillingFact.customer_id,
                        BillingFact.month,
                        BillingFact.product_line,
                        BillingFact.fee_fen,
                        BillingFact.usage_quantity,
                        BillingFact.days_overdue,
                        BillingFact.payment_status,
                        BillingFact.occurred_at,
                        BillingFact.sequence,
                    ).where(
                        BillingFact.customer_id.in_(part),
                        BillingFact.month >= low,
                        BillingFact.month <= high,
                        visible(BillingFact, as_of),
                    )
                ).all()
            )
            # Costs of the same months, as visible at as_of as the bills (margin features).
            cost_rows.extend(
                s.execute(
                    select(CostFact.customer_id, CostFact.month, CostFact.cost_type, CostFact.amount_fen).where(
                        CostFact.customer_id.in_(part),
                        CostFact.month >= low,
                        CostFact.month <= high,
                        visible(CostFact, as_of),
                    )
                ).all()
            )
    billing_rows = [(*r[:7], utc(r[7]), r[8]) for r in billing_rows]
    scores = latest_scores(s, customer_ids, effective)
    inputs = [
        AccountInput(cid, merge_account(cid, facts.get(cid, []), priority), facts.get(cid, []), scores.get(cid))
        for cid in customer_ids
    ]
    return Loaded(
        inputs,
        BillingFacts.from_rows(billing_rows, index),
        closed,
        CostFacts.from_rows([tuple(r) for r in cost_rows], index),
    )


def latest_month_index(s: Session, at: dt.datetime) -> int | None:
    """latest_visible_month as a month index."""
    latest = latest_visible_month(s, at)
    return None if latest is None else month_index(latest)


def latest_scores(s: Session, customer_ids: list[str], at: dt.datetime) -> dict[str, Score]:
    """The latest score of each account scored at or before `at`."""
    out: dict[str, Score] = {}
    for part in chunks(customer_ids):
        # Core rows, and reasons parsed only for the row that wins (accounts keep their score history).
        latest: dict[str, Any] = {}
        for row in s.execute(
            select(
                ScoreRow.customer_id,
                ScoreRow.churn_probability,
                ScoreRow.risk_band,
                ScoreRow.predicted_value_fen,
                ScoreRow.value_horizon_months,
                ScoreRow.model_version,
                ScoreRow.scored_at,
                ScoreRow.reasons,
                ScoreRow.analytics,
            )
            .where(ScoreRow.customer_id.in_(part), ScoreRow.scored_at <= at)
            .order_by(ScoreRow.customer_id, ScoreRow.scored_at)
        ):
            latest[row[0]] = row
        for cid, prob, band, value, horizon, model, scored_at, reasons, analytics in latest.values():
            out[cid] = Score(
                cid,
                prob,
                band,
                value,
                horizon,
                model,
                utc(scored_at),
                tuple(tuple(x) for x in loads(reasons) or []),
                None if analytics is None else loads(analytics),
            )
    return out


def revenue_base_at(s: Session, as_of: dt.datetime) -> RevenueBase:
    """The 12-month revenue distribution of the base as known at a past moment.

    Summed over the 12 months up to the base's closed month then (accounts whose own reference
    is a later, open month count that month in their own revenue: a small difference at the
    edge of a billing period, in ranking only).
    """
    ref = periods_of(s).closed_month(s, as_of, as_of)
    if ref is None:
        ref = latest_month_index(s, as_of)
    if ref is None:
        return RevenueBase([])
    # Summed in Python integers: a SQL sum of fees near the int64 limit overflows on SQLite.
    totals: dict[str, int] = defaultdict(int)
    for cid, fee in s.execute(
        select(BillingFact.customer_id, BillingFact.fee_fen).where(
            BillingFact.month >= month_str(ref - 11), BillingFact.month <= month_str(ref), visible(BillingFact, as_of)
        )
    ):
        totals[cid] += int(fee)
    erased = set(s.execute(select(Erasure.customer_id)).scalars())
    return RevenueBase(float(total) for cid, total in totals.items() if cid not in erased)


def features_at(
    s: Session,
    customer_ids: list[str],
    as_of: dt.datetime | None,
    now: dt.datetime,
    base: RevenueBase | None,
    priority: dict[str, int] | None = None,
) -> list[FeatureResult]:
    """Compute the features of the accounts as of a moment (None = now)."""
    loaded = load_inputs(s, customer_ids, as_of, now, priority)
    return compute_features(loaded.inputs, loaded.billing, as_of or now, loaded.closed_month, base, loaded.costs)
