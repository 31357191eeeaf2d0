"""Loading what was known about accounts at a moment, as domain inputs for features.

`as_of=None` means "now" and reads only current versions (the fast path); a past as_of
reads the versions that were ingested, not yet superseded, and had occurred by then.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.profile.domain.billing import BillingFacts, RevenueBase, month_of_datetime, month_str
from services.profile.domain.features import AccountInput, FeatureResult, compute_features, reference_month
from services.profile.domain.merge import merge_account
from services.profile.domain.model import Fact, Score
from services.profile.store.codec import chunks, loads, utc
from services.profile.store.models import AccountFact, BillingFact, BillingMonth, Erasure, ScoreRow


EVENT_KINDS = ("service_event", "interaction")
EVENT_HORIZON = dt.timedelta(days=400)


def visible(model: type, as_of: dt.datetime | None):
    """SQL condition: the version was what the suite knew at as_of (current when None)."""
    if as_of is None:
        return model.superseded_at.is_(None)
    return and_(model.ingested_at <= as_of, or_(model.superseded_at.is_(None), model.superseded_at > as_of),
                model.occurred_at <= as_of)


@dataclass
class Loaded:
    """Inputs for features of a batch of accounts."""

    inputs: list[AccountInput]
    billing: BillingFacts
    ref_month: int | None


def latest_visible_month(s: Session, as_of: dt.datetime) -> str | None:
    """The latest billing month visible at as_of and before as_of's month."""
    before = month_str(month_of_datetime(as_of))
    return s.execute(select(func.max(BillingMonth.month)).where(
        BillingMonth.first_visible_at <= as_of, BillingMonth.month < before)).scalar()


def known_customers(s: Session, customer_ids: list[str], as_of: dt.datetime | None) -> set[str]:
    """Which of the ids had any visible record at as_of (erased accounts excluded)."""
    found: set[str] = set()
    for part in chunks(customer_ids):
        found.update(s.execute(select(AccountFact.customer_id).where(
            AccountFact.customer_id.in_(part), visible(AccountFact, as_of)).distinct()).scalars())
        found.update(s.execute(select(BillingFact.customer_id).where(
            BillingFact.customer_id.in_(part), visible(BillingFact, as_of)).distinct()).scalars())
        found.difference_update(s.execute(select(Erasure.customer_id).where(Erasure.customer_id.in_(part))).scalars())
    return found


def load_inputs(s: Session, customer_ids: list[str], as_of: dt.datetime | None, now: dt.datetime,
                priority: dict[str, int] | None = None) -> Loaded:
    """Merged accounts, facts, billing and scores of the accounts as known at as_of (None = now)."""
    effective = as_of or now
    index = {cid: i for i, cid in enumerate(customer_ids)}
    facts: dict[str, list[Fact]] = defaultdict(list)
    for part in chunks(customer_ids):
        # Service events and interactions older than the longest feature window are not read.
        recent = or_(AccountFact.kind.not_in(EVENT_KINDS), AccountFact.occurred_at >= effective - EVENT_HORIZON)
        rows = s.execute(select(AccountFact.customer_id, AccountFact.kind, AccountFact.occurred_at,
                                AccountFact.sequence, AccountFact.source, AccountFact.payload)
                         .where(AccountFact.customer_id.in_(part), visible(AccountFact, as_of), recent))
        for cid, kind, occurred, seq, source, payload in rows:
            facts[cid].append(Fact(kind, utc(occurred), seq, source, loads(payload)))
    latest = latest_visible_month(s, effective)
    ref = reference_month(effective, latest)
    billing_rows: list[tuple] = []
    if ref is not None:
        low, high = month_str(ref - 11), month_str(ref)
        for part in chunks(customer_ids):
            billing_rows.extend(s.execute(select(
                BillingFact.customer_id, BillingFact.month, BillingFact.product_line, BillingFact.fee_fen,
                BillingFact.usage_quantity, BillingFact.days_overdue, BillingFact.payment_status,
                BillingFact.occurred_at, BillingFact.sequence).where(
                BillingFact.customer_id.in_(part), BillingFact.month >= low, BillingFact.month <= high,
                visible(BillingFact, as_of))).all())
    billing_rows = [(*r[:7], utc(r[7]), r[8]) for r in billing_rows]
    scores = latest_scores(s, customer_ids, effective)
    inputs = [AccountInput(cid, merge_account(cid, facts.get(cid, []), priority), facts.get(cid, []),
                           scores.get(cid)) for cid in customer_ids]
    return Loaded(inputs, BillingFacts.from_rows(billing_rows, index), ref)


def latest_scores(s: Session, customer_ids: list[str], at: dt.datetime) -> dict[str, Score]:
    """The latest score of each account scored at or before `at`."""
    out: dict[str, Score] = {}
    for part in chunks(customer_ids):
        # Core rows, and reasons parsed only for the row that wins (accounts keep their score history).
        latest: dict[str, tuple] = {}
        for row in s.execute(select(ScoreRow.customer_id, ScoreRow.churn_probability, ScoreRow.risk_band,
                                    ScoreRow.predicted_value_fen, ScoreRow.value_horizon_months,
                                    ScoreRow.model_version, ScoreRow.scored_at, ScoreRow.reasons)
                             .where(ScoreRow.customer_id.in_(part), ScoreRow.scored_at <= at)
                             .order_by(ScoreRow.customer_id, ScoreRow.scored_at)):
            latest[row[0]] = row
        for cid, prob, band, value, horizon, model, scored_at, reasons in latest.values():
            out[cid] = Score(cid, prob, band, value, horizon, model, utc(scored_at),
                             tuple(tuple(x) for x in loads(reasons) or []))
    return out


def revenue_base_at(s: Session, as_of: dt.datetime) -> RevenueBase:
    """The 12-month revenue distribution of the base as known at a past moment."""
    ref = reference_month(as_of, latest_visible_month(s, as_of))
    if ref is None:
        return RevenueBase([])
    rows = s.execute(select(BillingFact.customer_id, func.sum(BillingFact.fee_fen)).where(
        BillingFact.month >= month_str(ref - 11), BillingFact.month <= month_str(ref),
        visible(BillingFact, as_of)).group_by(BillingFact.customer_id)).all()
    erased = set(s.execute(select(Erasure.customer_id)).scalars())
    return RevenueBase(float(total) for cid, total in rows if cid not in erased)


def features_at(s: Session, customer_ids: list[str], as_of: dt.datetime | None, now: dt.datetime,
                base: RevenueBase | None, priority: dict[str, int] | None = None) -> list[FeatureResult]:
    """Compute the features of the accounts as of a moment (None = now)."""
    loaded = load_inputs(s, customer_ids, as_of, now, priority)
    return compute_features(loaded.inputs, loaded.billing, as_of or now, loaded.ref_month, base)
