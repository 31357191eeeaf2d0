"""Point-in-time features of a batch of accounts.

The caller (the store) hands in only what was known at `as_of`: merged master data, the
visible non-billing facts, the visible billing facts and the base's latest closed billing
month at as_of (billing.ClosePolicy). Fee features come from a numpy cube (accounts x 12
months x product lines) ending at each account's own reference month: its latest complete
month (BillingFacts.reference_months), never a month another account's early bill opened.
A month without the account's bill counts as missing (fee 0) only once it is closed. Event features
are windows counted back from as_of. Besides the values, each result says when a
time-dependent feature next changes with no new record (window expiries, month turns)
and the anchors of day counters, so the tag engine can schedule re-evaluation.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.profile.domain import model as m
from services.profile.domain.analytics import ANALYTICS_FEATURES, analytics_features
from services.profile.domain.billing import BillingFacts, RevenueBase, month_index, month_of_datetime, month_str
from services.profile.domain.margin import MARGIN_BOOL_COLUMNS, CostFacts, margin_columns
from services.profile.domain.model import Fact, MergedAccount, Score

DAY = 86400.0
UTC = dt.UTC


@dataclass
class AccountInput:
    """What was known about one account at as_of (billing facts are passed column-wise)."""

    customer_id: str
    account: MergedAccount
    facts: list[Fact] = field(default_factory=list)
    score: Score | None = None


@dataclass
class FeatureResult:
    """Features of one account plus the timing information for re-evaluation."""

    customer_id: str
    features: dict[str, Any]
    next_change: dict[str, float] = field(default_factory=dict)
    anchors: dict[str, float] = field(default_factory=dict)


def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.where(np.isfinite(new) & np.isfinite(old) & (old > 0), (new - old) / old * 100.0, np.nan)
    return np.round(out, 9)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over axis 1 (months) ignoring NaN; NaN where no month has a value."""
    count = np.sum(np.isfinite(values), axis=1)
    with np.errstate(all="ignore"):
        return np.where(count > 0, np.nansum(values, axis=1) / np.maximum(count, 1), np.nan)


def _slope(values: np.ndarray) -> np.ndarray:
    """Least-squares slope over axis 1 of values at x = 0, -1, ..., -(k-1) (fen per month)."""
    shape = [1] * values.ndim
    shape[1] = values.shape[1]
    x = -np.arange(values.shape[1], dtype=np.float64).reshape(shape)
    w = np.isfinite(values)
    y = np.where(w, values, 0.0)
    n = w.sum(axis=1)
    with np.errstate(all="ignore"):
        mx = (w * x).sum(axis=1) / n
        my = y.sum(axis=1) / n
        dx = np.where(w, x - np.expand_dims(mx, 1), 0.0)
        num = (dx * (y - np.expand_dims(my, 1)) * w).sum(axis=1)
        den = (dx * dx).sum(axis=1)
        out = np.where((n >= 2) & (den > 0), num / den, np.nan)
    return np.round(out, 6)


def _series_stats(s: np.ndarray) -> dict[str, np.ndarray]:
    """Level, averages, changes and trend of monthly series s[account, months back, series].

    All series (the total and every product line) in one set of array operations: per
    series they cost the same numpy call overhead, which dominates for a single account.
    """
    avg3, prev3 = _nanmean(s[:, 0:3]), _nanmean(s[:, 3:6])
    return {
        "last_month": s[:, 0],
        "avg_3m": avg3,
        "avg_6m": _nanmean(s[:, 0:6]),
        "mom_pct": _pct(s[:, 0], s[:, 1]),
        "3v3_pct": _pct(avg3, prev3),
        "slope_6m": _slope(s[:, 0:6]),
        "vs_ref3_pct": _pct(s[:, 0], _nanmean(s[:, 1:4])),
    }


#: Fee columns holding flags (the column matrix is float; these become bools).
BOOL_COLUMNS = frozenset({"fee_last_month_missing"}) | MARGIN_BOOL_COLUMNS


def _fee_columns(billing: BillingFacts, n: int, closed: int | None, before: int) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    ref = billing.reference_months(n, closed, before)
    if not (ref >= 0).any():
        return cols
    ref = np.where(ref >= 0, ref, 0)  # month 0 is far before any bill: such accounts get no fee columns
    fee, usage, started = billing.cube(n, ref)
    total = np.where(started, np.nansum(fee, axis=2), np.nan)
    lines = list(m.LINE_NAMES)
    stats = _series_stats(np.concatenate([total[:, :, None], fee[:, :, lines]], axis=2))
    usage_mom = _pct(usage[:, 0, lines], usage[:, 1, lines])

    def series(prefix: str, j: int) -> None:
        for suffix, values in stats.items():
            cols[f"{prefix}_{suffix}"] = values[:, j]

    series("fee_total", 0)
    cols["fee_total_ref3"] = _nanmean(total[:, 1:4])
    for j, (line, name) in enumerate(m.LINE_NAMES.items(), 1):
        series(f"fee_{name}", j)
        cols[f"usage_{name}_last_month"] = usage[:, 0, line]
        cols[f"usage_{name}_mom_pct"] = usage_mom[:, j - 1]
    drops = stats["vs_ref3_pct"][:, 1:]
    with np.errstate(all="ignore"):
        cols["fee_line_min_vs_ref3_pct"] = np.where(
            np.isfinite(drops).any(axis=1), np.nanmin(np.where(np.isfinite(drops), drops, np.inf), axis=1), np.nan
        )
    any_month = started.any(axis=1)
    cols["fee_reference_months_ago"] = np.where(any_month, (before - ref).astype(np.float64), np.nan)
    cols["fee_last_month_missing"] = np.where(any_month, (~billing.billed_in(n, ref)).astype(np.float64), np.nan)
    cols["fee_total_sum_12m"] = np.where(any_month, np.nansum(total, axis=1), np.nan)
    cols["months_billed_12m"] = np.where(any_month, np.sum(total > 0, axis=1), np.nan)
    cols["product_lines"] = np.where(started[:, 0], np.sum(np.nan_to_num(fee[:, 0, 1:]) > 0, axis=1), np.nan)
    back = ref[billing.account] - billing.month
    recent = (back >= 0) & (back < 3)
    overdue = np.full(n, np.nan)
    if recent.any():
        overdue_vals = np.zeros(n)
        np.maximum.at(overdue_vals, billing.account[recent], billing.days_overdue[recent])
        has = np.zeros(n, dtype=bool)
        has[billing.account[recent]] = True
        overdue = np.where(has, overdue_vals, np.nan)
    cols["days_overdue"] = overdue
    paid = np.full(n, -np.inf)
    ok = np.isfinite(billing.paid_at)
    np.maximum.at(paid, billing.account[ok], billing.paid_at[ok])
    cols["_last_paid_at"] = np.where(np.isfinite(paid), paid, np.nan)
    cols["_ref"], cols["_total"] = ref, total  # the months margin features describe (domain/margin.py)
    return cols


def compute_features(
    inputs: list[AccountInput],
    billing: BillingFacts,
    as_of: dt.datetime,
    closed_month: int | None,
    base: RevenueBase | None = None,
    costs: CostFacts | None = None,
) -> list[FeatureResult]:
    """Features of every account in `inputs` as of `as_of` (billing.account indexes inputs).

    `closed_month` is the base's latest closed billing month at as_of (ClosePolicy), None
    when none is: then each account's reference is its own latest billed month. `costs`
    (visible cost records, indexed like billing) adds the margin features of the same months.
    """
    n = len(inputs)
    cols = _fee_columns(billing, n, closed_month, month_of_datetime(as_of))
    if costs is not None and "_ref" in cols:
        cols.update(margin_columns(costs, cols["_ref"], cols["_total"]))
    if "fee_total_sum_12m" in cols:
        revenue = cols["fee_total_sum_12m"]
        cols["revenue_cum_share_pct"] = (base or RevenueBase(revenue)).cum_share_pct(revenue)
    now = as_of.timestamp()
    names = [k for k in cols if not k.startswith("_")]
    matrix = np.vstack([cols[k] for k in names]) if names else np.zeros((0, n))
    last_paid = cols.get("_last_paid_at")
    results: list[FeatureResult] = []
    for i, item in enumerate(inputs):
        features: dict[str, Any] = {}
        column = matrix[:, i]
        for name, value in zip(names, column.tolist(), strict=False):
            if value == value:  # not NaN
                features[name] = bool(value) if name in BOOL_COLUMNS else value
        result = FeatureResult(item.customer_id, features)
        if "fee_reference_months_ago" in features:
            # The reference month stays; its distance from as_of's month grows at the month turn.
            result.next_change["fee_reference_months_ago"] = _next_month_start(as_of)
        if last_paid is not None and last_paid[i] == last_paid[i]:
            _days_since(result, "days_since_last_payment", float(last_paid[i]), now)
        _master_features(result, item, as_of)
        _event_features(result, item.facts, now, as_of)
        _score_features(result, item.score)
        results.append(result)
    return results


def _days_since(result: FeatureResult, name: str, at: float, now: float) -> None:
    result.features[name] = float(math.floor((now - at) / DAY))
    result.anchors[name] = at


def _next_month_start(as_of: dt.datetime) -> float:
    nxt = month_of_datetime(as_of) + 1
    return dt.datetime(nxt // 12, nxt % 12 + 1, 1, tzinfo=UTC).timestamp()


def _master_features(result: FeatureResult, item: AccountInput, as_of: dt.datetime) -> None:
    f, acct = result.features, item.account
    fields = acct.fields
    f["status"] = "TERMINATED" if acct.status == m.STATUS_TERMINATED else "ACTIVE"
    for name in ("industry", "region"):
        if fields.get(name):
            f[name] = fields[name]
    if fields.get("tier"):
        f["tier"] = m.TIER_NAMES.get(int(fields["tier"]), "")
    if fields.get("employee_count"):
        f["employee_count"] = float(fields["employee_count"])
    f["is_branch"] = bool(fields.get("parent_customer_id"))
    current = month_of_datetime(as_of)
    month_turn = _next_month_start(as_of)
    starts = []
    if acct.first_seen_at is not None:
        starts.append(month_of_datetime(acct.first_seen_at))
    if fields.get("contract_start_month"):
        starts.append(month_index(fields["contract_start_month"]))
    if starts:
        f["tenure_months"] = float(max(0, current - min(starts)))
        result.next_change["tenure_months"] = month_turn
    if fields.get("contract_end_month"):
        f["months_to_contract_end"] = float(month_index(fields["contract_end_month"]) - current)
        result.next_change["months_to_contract_end"] = month_turn
    for name, value in acct.attributes.items():
        f[f"attr.{name}"] = value


def _window_count(result: FeatureResult, name: str, times: list[float], now: float, days: int) -> None:
    start = now - days * DAY
    inside = [t for t in times if t > start]
    result.features[name] = float(len(inside))
    if inside:
        result.next_change[name] = min(inside) + days * DAY


def _event_features(result: FeatureResult, facts: list[Fact], now: float, as_of: dt.datetime) -> None:
    f = result.features
    by_type: dict[int, list[float]] = {m.EVENT_COMPLAINT: [], m.EVENT_FAULT: [], m.EVENT_SERVICE_CALL: []}
    answers: list[tuple[float, list[int]]] = []
    visits: list[float] = []
    others: list[float] = []
    competitors: dict[str, Fact] = {}
    opportunities: dict[str, Fact] = {}
    products: dict[str, dict] = {}
    contacts: dict[str, dict] = {}
    for fact in sorted(facts, key=lambda x: (x.occurred_at, x.sequence)):
        t, p = fact.occurred_at.timestamp(), fact.payload
        if fact.kind == "service_event":
            kind = int(p.get("type") or 0)
            if kind in by_type:
                by_type[kind].append(t)
            elif kind == m.EVENT_SURVEY:
                answers.append((t, [int(v) for v in (p.get("survey_answers") or {}).values() if 1 <= int(v) <= 5]))
        elif fact.kind == "interaction":
            (visits if int(p.get("channel") or 0) == m.CHANNEL_VISIT else others).append(t)
        elif fact.kind == "competitor":
            competitors[str(p.get("competitor", "")).strip().lower()] = fact
        elif fact.kind == "opportunity":
            opportunities[str(p.get("opportunity_id", ""))] = fact
        elif fact.kind == "subscription":
            code = str(p.get("product_code", ""))
            if int(p.get("action") or 0) == m.SUB_REMOVED:
                products.pop(code, None)
            else:
                products[code] = p
        elif fact.kind == "contact":
            contacts[str(p.get("person_id", ""))] = p
    for kind, prefix in (
        (m.EVENT_COMPLAINT, "complaints"),
        (m.EVENT_FAULT, "fault_tickets"),
        (m.EVENT_SERVICE_CALL, "service_calls"),
    ):
        _window_count(result, f"{prefix}_30d", by_type[kind], now, 30)
        _window_count(result, f"{prefix}_90d", by_type[kind], now, 90)
    year_ago = now - 365 * DAY
    recent_answers = [a for t, values in answers if t > year_ago for a in values]
    _window_count(result, "surveys_365d", [t for t, _ in answers], now, 365)
    if recent_answers:
        # Satisfaction index E = sum(i * P_i): the mean of the 1-5 answers.
        f["satisfaction_index"] = round(sum(recent_answers) / len(recent_answers), 9)
        result.next_change["satisfaction_index"] = min(t for t, _ in answers if t > year_ago) + 365 * DAY
    _window_count(result, "visits_90d", visits, now, 90)
    _window_count(result, "other_interactions_90d", others, now, 90)
    _window_count(result, "interactions_365d", visits + others, now, 365)
    if visits or others:
        _days_since(result, "days_since_last_interaction", max(visits + others), now)
    if visits:
        _days_since(result, "days_since_last_visit", max(visits), now)
    _competitor_features(result, list(competitors.values()), now, as_of)
    open_opps = [
        o.payload for o in opportunities.values() if int(o.payload.get("stage") or 0) not in (m.STAGE_WON, m.STAGE_LOST)
    ]
    f["open_opportunities"] = float(len(open_opps))
    f["open_opportunity_budget_fen"] = float(sum(int(o.get("budget_fen") or 0) for o in open_opps))
    f["active_products"] = float(len(products))
    f["subscribed_monthly_fee_fen"] = float(sum(int(p.get("monthly_fee_fen") or 0) for p in products.values()))
    active = [c for c in contacts.values() if not c.get("inactive")]
    f["active_contacts"] = float(len(active))
    f["decision_makers"] = float(sum(1 for c in active if int(c.get("level") or 0) == m.CONTACT_DECISION_MAKER))


def _competitor_features(result: FeatureResult, latest: list[Fact], now: float, as_of: dt.datetime) -> None:
    f = result.features
    recent = [c for c in latest if c.occurred_at.timestamp() > now - 365 * DAY]
    f["competitor_present"] = bool(recent)
    f["competitor_count"] = float(len(recent))
    if recent:
        result.next_change["competitor_present"] = min(c.occurred_at.timestamp() for c in recent) + 365 * DAY
        result.next_change["competitor_count"] = result.next_change["competitor_present"]
    approaching = [
        c for c in latest if c.payload.get("active_approach") and c.occurred_at.timestamp() > now - 180 * DAY
    ]
    f["competitor_active_approach"] = bool(approaching)
    if approaching:
        result.next_change["competitor_active_approach"] = (
            max(c.occurred_at.timestamp() for c in approaching) + 180 * DAY
        )
    current = month_of_datetime(as_of)
    ends = [
        month_index(c.payload["contract_end_month"]) - current for c in recent if c.payload.get("contract_end_month")
    ]
    ends = [e for e in ends if e >= 0]
    if ends:
        f["competitor_contract_end_months"] = float(min(ends))
        result.next_change["competitor_contract_end_months"] = _next_month_start(as_of)


def reference_month_of(features: dict[str, Any], computed_at: dt.datetime) -> str:
    """The account's reference month ('YYYY-MM') named by features computed at `computed_at`; '' when none."""
    ago = features.get("fee_reference_months_ago")
    if ago is None:
        return ""
    return month_str(month_of_datetime(computed_at) - int(ago))


def own_month_summary(features: dict[str, Any], computed_at: dt.datetime) -> tuple[str, int, list[int]]:
    """(reference month, total fee, product lines with a fee) of the account's own latest complete month.

    What a group summary adds up per member: each member's own complete month, never a month
    that only some members' bills have reached yet.
    """
    month = reference_month_of(features, computed_at)
    if not month:
        return "", 0, []
    total = int(round(float(features.get("fee_total_last_month") or 0.0)))
    lines = [line for line, name in m.LINE_NAMES.items() if float(features.get(f"fee_{name}_last_month") or 0.0) > 0]
    return month, total, lines


SCORE_FEATURES = (
    "churn_probability",
    "risk_band",
    "predicted_value_fen",
    *ANALYTICS_FEATURES,
)


def set_score_features(result: FeatureResult, score: Score | None) -> None:
    """Replace the score-derived features of an already computed result (scores arrived)."""
    for name in SCORE_FEATURES:
        result.features.pop(name, None)
    _score_features(result, score)


def _score_features(result: FeatureResult, score: Score | None) -> None:
    if score is None:
        return
    result.features["churn_probability"] = float(score.churn_probability)
    if score.risk_band in m.RISK_BAND_NAMES:
        result.features["risk_band"] = m.RISK_BAND_NAMES[score.risk_band]
    result.features["predicted_value_fen"] = float(score.predicted_value_fen)
    if score.analytics:
        result.features.update(analytics_features(score.analytics))
