"""Lifetime value against hand-computed figures, and its tiers (issue #19)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.lifetime import LifetimeSettings, clv_thresholds, clv_tier, lifetime_value

PLAIN = LifetimeSettings(horizon_months=3, discount_rate_annual=0.0, default_margin_rate=0.5)


def test_hand_computed_three_months_without_discount() -> None:
    # 1.2M fen over 12 months = 100,000 a month; half is margin; churn 0.488 over 3 months
    # means survival 0.8 a month: 0.8 + 0.64 + 0.512 = 1.952 months.
    value = lifetime_value(
        predicted_value_fen=1_200_000,
        value_horizon_months=12,
        churn_probability=0.488,
        churn_horizon_months=3,
        margin_rate=None,
        settings=PLAIN,
    )
    assert value is not None
    assert value.monthly_margin_fen == 50_000
    assert value.expected_months == pytest.approx(1.952)
    assert value.clv_fen == 97_600
    assert "assumed 50%" in value.reasons[0] and "2.0 of 3 months" in value.reasons[1]


def test_own_margin_discounting_and_margin_target() -> None:
    discounted = LifetimeSettings(horizon_months=12, discount_rate_annual=0.08)
    own = lifetime_value(
        predicted_value_fen=1_200_000,
        value_horizon_months=12,
        churn_probability=0.0,
        churn_horizon_months=3,
        margin_rate=-0.2,
        settings=discounted,
    )
    assert own is not None and own.monthly_margin_fen == -20_000
    expected = sum(-20_000 / 1.08 ** (t / 12) for t in range(1, 13))
    assert own.clv_fen == round(expected) and own.expected_months == 12
    assert "its own margin" in own.reasons[0]
    assert clv_tier(own.clv_fen, clv_thresholds([1.0, 2.0])) == "negative"
    margin = lifetime_value(
        predicted_value_fen=600_000,
        value_horizon_months=12,
        churn_probability=1.0,
        churn_horizon_months=3,
        margin_rate=0.3,
        settings=discounted,
        value_is_margin=True,
    )
    assert margin is not None and margin.clv_fen == 0 and margin.monthly_margin_fen == 50_000


def test_missing_answers_give_none() -> None:
    for kwargs in (
        {"predicted_value_fen": None, "churn_probability": 0.1},
        {"predicted_value_fen": 100.0, "churn_probability": None},
        {"predicted_value_fen": math.nan, "churn_probability": 0.1},
    ):
        assert (
            lifetime_value(value_horizon_months=12, churn_horizon_months=3, margin_rate=None, settings=PLAIN, **kwargs)
            is None
        )


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(0, 1e13),
    p=st.floats(0, 1),
    q=st.floats(0, 1),
    horizon=st.integers(1, 120),
)
def test_more_risk_never_more_value(value: float, p: float, q: float, horizon: int) -> None:
    config = LifetimeSettings(horizon_months=horizon)
    low, high = sorted((p, q))
    safe = lifetime_value(
        predicted_value_fen=value,
        value_horizon_months=12,
        churn_probability=low,
        churn_horizon_months=3,
        margin_rate=None,
        settings=config,
    )
    risky = lifetime_value(
        predicted_value_fen=value,
        value_horizon_months=12,
        churn_probability=high,
        churn_horizon_months=3,
        margin_rate=None,
        settings=config,
    )
    assert safe is not None and risky is not None
    assert risky.clv_fen <= safe.clv_fen and 0 <= risky.expected_months <= safe.expected_months <= horizon


def test_tiers_split_the_base() -> None:
    values = [float(v) for v in range(100)]
    bounds = clv_thresholds(values)
    tiers = [clv_tier(v, bounds) for v in values]
    assert [tiers.count(t) for t in ("top", "high", "medium", "low")] == [10, 20, 30, 40]
    assert clv_tier(-1, bounds) == "negative"
    empty = clv_thresholds([-5.0, math.nan])
    assert clv_tier(0.0, empty) == "low"


def test_a_run_uses_the_accounts_own_margin_and_a_margin_value_model() -> None:
    import datetime as dt

    import numpy as np

    from services.scoring.domain.analytics import ScoreInputs, fit_run

    ids = [f"KA{i}" for i in range(12)]
    columns = {
        "fee_total_sum_12m": np.linspace(1e6, 2e6, 12),
        "margin_rate_3m": np.array([0.5] + [np.nan] * 11),
    }
    config = LifetimeSettings(horizon_months=12, discount_rate_annual=0.0, default_margin_rate=0.25)

    def monthly(value_is_margin: bool) -> dict[str, int]:
        scores = {cid: ScoreInputs(0.0, 3, 1_200_000.0, 12, value_is_margin) for cid in ids}
        _, assigned = fit_run("r", dt.datetime(2026, 12, 1, tzinfo=dt.UTC), ids, columns, scores, lifetime=config)
        return {a.customer_id: a.lifetime.monthly_margin_fen for a in assigned if a.lifetime}

    revenue = monthly(False)
    assert revenue["KA0"] == 50_000 and revenue["KA1"] == 25_000  # own 50 %, else the assumed 25 %
    assert set(monthly(True).values()) == {100_000}  # the prediction is the margin itself
