"""The value model's margin target (issue #19): labels from cost facts, the parameter, a real fit.

A small hand-made base: cut-off 2026-06-01, horizon 3 (June-August 2026).

| account | fee Jun/Jul/Aug | cost Jun/Jul/Aug       | margin label                        |
|---------|-----------------|------------------------|-------------------------------------|
| A       | 100/100/100     | 40/40/40               | 300 - 120 = 180                     |
| B       | 200/0/200       | 150/-/250              | 400 - 400 = 0 (July unbilled)       |
| C       | 50/50/50        | 10/-/10                | unknown: July billed, not costed    |
| D       | 0/0/0           | 30 in July             | -30 (costed without fee)            |
| E       | 80/80/80        | none                   | unknown: never costed               |
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.scoring.domain.evaluation import ValueMetrics
from services.scoring.domain.labels import Outcomes, build_training_set, margin_targets, value_targets
from services.scoring.domain.modelling import fit_and_evaluate
from services.scoring.domain.params import CHURN, MARGIN, REVENUE, VALUE, parse_params
from telco360_runtime.errors import FailedPrecondition, InvalidArgument

CUT = pd.Timestamp("2026-06-01", tz="UTC")
IDS = pd.Index(["A", "B", "C", "D", "E"])
FEES = {
    "A": (100, 100, 100),
    "B": (200, 0, 200),
    "C": (50, 50, 50),
    "D": (0, 0, 0),
    "E": (80, 80, 80),
}
COSTS = {"A": (40, 40, 40), "B": (150, None, 250), "C": (10, None, 10), "D": (None, 30, None)}
MONTHS = ("2026-06", "2026-07", "2026-08")


def outcomes(costs: dict[str, tuple] | None = COSTS) -> Outcomes:
    revenue = pd.DataFrame(
        [(cid, m, fee) for cid, fees in FEES.items() for m, fee in zip(MONTHS, fees, strict=True) if fee],
        columns=["customer_id", "month", "total_fee_fen"],
    )
    lifecycle = pd.DataFrame({"customer_id": [], "occurred_at": pd.to_datetime([], utc=True), "terminated": []})
    cost_frame = (
        None
        if costs is None
        else pd.DataFrame(
            [
                (cid, m, c)
                for cid, values in costs.items()
                for m, c in zip(MONTHS, values, strict=True)
                if c is not None
            ],
            columns=["customer_id", "month", "total_cost_fen"],
        )
    )
    return Outcomes(revenue=revenue, lifecycle=lifecycle, costs=cost_frame)


def features() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(IDS), "fee_total_last_month": [100.0, 200.0, 50.0, 0.0, 80.0]})


def test_margin_labels_match_the_hand_computed_table() -> None:
    labels = margin_targets(outcomes(), IDS, CUT, 3)
    assert labels.to_dict() == pytest.approx({"A": 180.0, "B": 0.0, "C": np.nan, "D": -30.0, "E": np.nan}, nan_ok=True)
    # The revenue target is unchanged by costs.
    assert value_targets(outcomes(), IDS, CUT, 3).to_dict() == {
        "A": 300.0,
        "B": 400.0,
        "C": 150.0,
        "D": 0.0,
        "E": 240.0,
    }


def test_a_margin_training_set_leaves_out_accounts_with_unknown_margin() -> None:
    margin = build_training_set(features(), outcomes(), CUT, 3, VALUE, MARGIN)
    assert dict(zip(margin["customer_id"], margin["label"], strict=True)) == {"A": 180.0, "B": 0.0, "D": -30.0}
    revenue = build_training_set(features(), outcomes(), CUT, 3, VALUE)
    assert list(revenue["customer_id"]) == list(IDS) and revenue["label"].sum() == 1090.0


def test_a_margin_target_without_cost_facts_fails_instead_of_training_on_revenue() -> None:
    no_costs: tuple[dict[str, tuple] | None, ...] = (None, {})
    for missing in no_costs:
        with pytest.raises(FailedPrecondition, match="cost facts"):
            build_training_set(features(), outcomes(missing), CUT, 3, VALUE, MARGIN)
    with pytest.raises(InvalidArgument):
        build_training_set(features(), outcomes(), CUT, 3, VALUE, "profit")


def test_value_target_parameter() -> None:
    assert parse_params({}, VALUE).value_target == REVENUE
    assert parse_params({"value_target": "margin"}, VALUE).value_target == MARGIN
    assert parse_params({"value_target": "margin"}, VALUE).as_strings()["value_target"] == "margin"
    for raw, kind in (("profit", VALUE), ("Margin", VALUE), ("margin", CHURN)):
        with pytest.raises(InvalidArgument) as error:
            parse_params({"value_target": raw}, kind)
        assert [v.field for v in error.value.violations] == ["parameters[value_target]"]


def test_a_value_model_fits_the_margin_target() -> None:
    """A real LightGBM fit: margin = fee minus a cost share that depends on a feature."""
    rng = np.random.default_rng(3)
    n = 400
    fee = rng.uniform(1_000, 10_000, n)
    dedicated = rng.random(n) < 0.5  # dedicated lines cost 60 % of the fee, others 30 %

    def frame(cut: pd.Timestamp, ids: list[str]) -> tuple[pd.DataFrame, Outcomes]:
        months = [f"{cut.year:04d}-{cut.month + k:02d}" for k in range(3)]
        feats = pd.DataFrame({"customer_id": ids, "fee_total_last_month": fee, "dedicated_share": dedicated * 1.0})
        rev = [(c, m, int(f)) for c, f in zip(ids, fee, strict=True) for m in months]
        cost = [
            (c, m, int(f * (0.6 if d else 0.3))) for c, f, d in zip(ids, fee, dedicated, strict=True) for m in months
        ]
        lc = pd.DataFrame({"customer_id": [], "occurred_at": pd.to_datetime([], utc=True), "terminated": []})
        return feats, Outcomes(
            pd.DataFrame(rev, columns=["customer_id", "month", "total_fee_fen"]),
            lc,
            costs=pd.DataFrame(cost, columns=["customer_id", "month", "total_cost_fen"]),
        )

    ids = [f"K{i}" for i in range(n)]
    params = parse_params({"value_target": "margin", "num_boost_round": "200", "tuning_trials": "0"}, VALUE)
    train_cut, hold_cut = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-05-01", tz="UTC")
    train = build_training_set(*frame(train_cut, ids), train_cut, 3, VALUE, params.value_target)
    hold = build_training_set(*frame(hold_cut, ids), hold_cut, 3, VALUE, params.value_target)
    expected = 3 * fee.astype(int) - 3 * np.where(dedicated, (fee * 0.6).astype(int), (fee * 0.3).astype(int))
    assert np.allclose(hold["label"].to_numpy(), expected)
    fitted = fit_and_evaluate(VALUE, train, hold, params, horizon_months=3)
    assert isinstance(fitted.metrics, ValueMetrics)
    assert fitted.metrics.r2 > 0.9  # margin, not revenue: the dedicated-line share is learnt
