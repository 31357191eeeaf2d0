"""Contributions, vectorised reasons and per-version risk bands (domain only, no gRPC)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from services.scoring.domain.bands import BAND_HIGH, BAND_LOW, BAND_MEDIUM, HIGH_SHARE, MEDIUM_SHARE, RiskThresholds
from services.scoring.domain.contributions import PATH, SHAP
from services.scoring.domain.modelling import fit_and_evaluate, make_record
from services.scoring.domain.params import parse_params
from services.scoring.domain.reasons import phrase_for, phrase_rows, select_reasons
from services.scoring.domain.registry import ServingModel
from services.scoring.domain.scoring import score_matrix

from .conftest import HORIZON, Sets

FAST = {"num_boost_round": "200", "learning_rate": "0.1"}


@pytest.fixture(scope="module")
def fitted(churn_sets: Sets):
    return fit_and_evaluate("churn", churn_sets.train, churn_sets.holdout, parse_params(FAST), horizon_months=HORIZON)


@pytest.fixture(scope="module")
def holdout_X(fitted, churn_sets: Sets) -> np.ndarray:
    return fitted.model.schema.encode_frame(churn_sets.holdout)


@pytest.mark.parametrize("method", [PATH, SHAP])
def test_contributions_sum_to_the_raw_score(fitted, holdout_X: np.ndarray, method: str) -> None:
    model = fitted.model
    contrib = model.contributions(holdout_X[:300], method)
    assert contrib.shape == (300, len(model.schema.features) + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw(holdout_X[:300]), atol=1e-9)


def test_path_reasons_mostly_agree_with_treeshap(fitted, holdout_X: np.ndarray) -> None:
    model = fitted.model
    top = np.argsort(-fitted.holdout.pred)[:200]
    X = holdout_X[top]
    path, _ = select_reasons(model.contributions(X, PATH), X, 3, True)
    shap, _ = select_reasons(model.contributions(X, SHAP), X, 3, True)
    overlap = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(path, shap, strict=False)])
    print(
        "\npath vs TreeSHAP on the 200 riskiest holdout accounts: "
        f"top-1 agrees {np.mean(path[:, 0] == shap[:, 0]):.2f}, "
        f"top-3 overlap {overlap:.2f}"
    )
    assert overlap > 0.5


def test_reason_selection_prefers_risk_raising_features_present_in_the_row() -> None:
    contrib = np.array(
        [
            [0.5, -2.0, 0.1, 3.0, 0.0],  # feature 2 is missing for this row
            [-0.5, -2.0, -0.1, 0.0, 0.0],
        ]
    )  # nothing raises the risk
    X = np.array([[1.0, 1.0, 1.0, np.nan], [1.0, 1.0, 1.0, 1.0]])
    order, valid = select_reasons(contrib, X, 3, risk=True)
    assert order[0][valid[0]].tolist() == [0, 2]
    assert order[1][valid[1]].tolist() == [1, 0, 2]
    order, valid = select_reasons(contrib, X, 3, risk=False)
    assert order[0][valid[0]].tolist() == [1, 0, 2]


def test_phrased_reasons_match_the_single_feature_phrases(fitted, holdout_X: np.ndarray) -> None:
    model = fitted.model
    X = holdout_X[:50]
    contrib = model.contributions(X, PATH)
    for r, reasons in enumerate(phrase_rows(contrib, X, model.schema, 3, True)):
        for reason in reasons:
            i = model.schema.index_of(reason.feature)
            assert reason.phrase == phrase_for(reason.feature, X[r, i], model.schema)
            assert reason.contribution == pytest.approx(contrib[r, i])


def test_risk_bands_come_from_the_holdout_and_travel_with_the_version(fitted, churn_sets: Sets) -> None:
    m = fitted.metrics
    p = fitted.holdout.pred
    assert 0 < m.band_medium_threshold <= m.band_high_threshold < 1
    shares = {b.band: b.account_share for b in m.bands}
    assert shares[BAND_HIGH] == pytest.approx(HIGH_SHARE, abs=0.02)
    assert shares[BAND_MEDIUM] == pytest.approx(MEDIUM_SHARE, abs=0.02)
    assert sum(b.accounts for b in m.bands) == len(p)
    assert sum(b.churner_share for b in m.bands) == pytest.approx(1.0)
    high = next(b for b in m.bands if b.band == BAND_HIGH)
    print(
        f"\nholdout base rate {m.base_rate:.3f}; HIGH p >= {m.band_high_threshold:.3f} holds {high.account_share:.0%} "
        f"of accounts, churn rate {high.churn_rate:.3f}, {high.churner_share:.0%} of churners"
    )
    assert high.churn_rate > 2 * m.base_rate

    record = make_record(
        "churn-bands",
        fitted,
        {"source": "profile", "horizon_months": HORIZON},
        description="t",
        job_id="j",
        now=dt.datetime.now(dt.UTC),
    )
    loaded = record.load()
    assert loaded.risk == RiskThresholds(m.band_medium_threshold, m.band_high_threshold, "holdout_deciles")
    X = loaded.schema.encode_frame(churn_sets.holdout)
    labels = score_matrix(ServingModel("churn-bands", 1, loaded, HORIZON), X, 0).labels
    assert labels.count(BAND_HIGH) / len(labels) == pytest.approx(HIGH_SHARE, abs=0.02)
    assert labels.count(BAND_LOW) > labels.count(BAND_MEDIUM) > 0


def test_versions_stored_without_thresholds_keep_the_fixed_cut_offs(fitted) -> None:
    record = make_record(
        "churn-old", fitted, {"source": "profile"}, description="t", job_id="j", now=dt.datetime.now(dt.UTC)
    )
    record.metrics = {k: v for k, v in record.metrics.items() if not k.startswith("band")}
    assert record.load().risk == RiskThresholds()
