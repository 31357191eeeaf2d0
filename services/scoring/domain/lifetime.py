"""Customer lifetime value: expected discounted margin over a horizon (issue #19).

For an account the value model predicts revenue V over its horizon of h_v months, and the
churn model gives the probability p that the account churns within its horizon of h_c
months. With a constant monthly hazard, the chance the account is still a customer after
t months is

    S(t) = (1 - p) ** (t / h_c)

and with m the expected margin a month,

    m   = V / h_v * margin_rate          (margin_rate = 1 when the value model targets margin)
    CLV = sum_{t=1..H} m * S(t) / (1 + r) ** (t / 12)

over the horizon H months at the annual discount rate r. `expected_months` = sum S(t) is
how long the account is expected to stay within H. The margin rate is the account's own
(profile's 3-month margin over fee, from the cost records it holds) when known, else the
configured default: an operator's typical key-account gross margin, stated in the reasons
so nobody mistakes an assumption for a measurement.

Tiers are relative to the base of the run: among accounts with a non-negative CLV the top
10 % are "top", the next 20 % "high", the next 30 % "medium", the rest "low"; a negative
CLV (a loss-making account) is "negative" whatever the base.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Shares of the non-negative base above each tier's lower bound (top, high, medium).
TIER_SHARES = (0.10, 0.30, 0.60)
TIERS = ("top", "high", "medium", "low", "negative")


@dataclass(frozen=True)
class LifetimeSettings:
    """How lifetime value is computed (ScoringSettings holds the configured values)."""

    horizon_months: int = 36
    discount_rate_annual: float = 0.08
    #: Margin over revenue assumed when the account has no cost records.
    default_margin_rate: float = 0.35


@dataclass(frozen=True)
class LifetimeValue:
    """One account's lifetime value (mirrors telco360.common.v1.LifetimeValue)."""

    clv_fen: int
    horizon_months: int
    monthly_margin_fen: int
    expected_months: float
    discount_rate_annual: float
    reasons: tuple[str, ...]
    tier: str = ""


@dataclass(frozen=True)
class ClvThresholds:
    """Lower bounds (fen) of the top, high and medium tiers in one run's base."""

    top: float
    high: float
    medium: float


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def lifetime_value(
    *,
    predicted_value_fen: float | None,
    value_horizon_months: int,
    churn_probability: float | None,
    churn_horizon_months: int,
    margin_rate: float | None,
    settings: LifetimeSettings,
    value_is_margin: bool = False,
) -> LifetimeValue | None:
    """The account's lifetime value, or None when a model's answer is missing."""
    if predicted_value_fen is None or churn_probability is None or value_horizon_months <= 0:
        return None
    if not (math.isfinite(predicted_value_fen) and math.isfinite(churn_probability)):
        return None
    p = min(max(float(churn_probability), 0.0), 1.0)
    h_c = max(int(churn_horizon_months), 1)
    horizon = max(int(settings.horizon_months), 1)
    measured = margin_rate is not None and math.isfinite(margin_rate)
    rate = settings.default_margin_rate
    if value_is_margin:
        rate = 1.0
    elif margin_rate is not None and measured:
        rate = float(margin_rate)
    monthly_revenue = float(predicted_value_fen) / value_horizon_months
    monthly_margin = monthly_revenue * rate
    t = np.arange(1, horizon + 1, dtype=np.float64)
    survival = np.power(1.0 - p, t / h_c) if p < 1.0 else np.zeros_like(t)
    discount = np.power(1.0 + settings.discount_rate_annual, -t / 12.0)
    clv = float(np.sum(monthly_margin * survival * discount))
    expected = float(np.sum(survival))
    if value_is_margin:
        margin_words = f"expected margin {_yuan(monthly_margin)} a month (value model predicts margin)"
    elif measured:
        margin_words = (
            f"expected margin {_yuan(monthly_margin)} a month: {rate:.0%} of predicted revenue "
            f"{_yuan(monthly_revenue)} (its own margin)"
        )
    else:
        margin_words = (
            f"expected margin {_yuan(monthly_margin)} a month: assumed {rate:.0%} of predicted revenue "
            f"{_yuan(monthly_revenue)} (no cost records)"
        )
    reasons = (
        margin_words,
        f"expected to stay {expected:.1f} of {horizon} months (churn risk {p:.0%} over {h_c} months)",
        f"discounted at {settings.discount_rate_annual:.0%} a year",
    )
    return LifetimeValue(
        clv_fen=int(round(clv)),
        horizon_months=horizon,
        monthly_margin_fen=int(round(monthly_margin)),
        expected_months=round(expected, 4),
        discount_rate_annual=settings.discount_rate_annual,
        reasons=reasons,
    )


def clv_thresholds(values: Sequence[float]) -> ClvThresholds:
    """Tier bounds from the base's lifetime values (only non-negative ones rank)."""
    arr = np.asarray([v for v in values if math.isfinite(v) and v >= 0], dtype=np.float64)
    if arr.size == 0:
        return ClvThresholds(math.inf, math.inf, math.inf)
    top, high, medium = (float(np.quantile(arr, 1.0 - share, method="higher")) for share in TIER_SHARES)
    return ClvThresholds(top, high, medium)


def clv_tier(clv_fen: float, thresholds: ClvThresholds) -> str:
    """The tier of one lifetime value against a run's bounds."""
    if clv_fen < 0:
        return "negative"
    if clv_fen >= thresholds.top:
        return "top"
    if clv_fen >= thresholds.high:
        return "high"
    if clv_fen >= thresholds.medium:
        return "medium"
    return "low"
