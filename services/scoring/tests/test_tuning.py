"""Tuning inside the training rows and out-of-fold calibration (issue #17).

Folds keep accounts whole and classes balanced; the holdout never reaches tuning; request-set
parameters are never tuned; Platt scaling fitted out of fold lowers log loss on rows no part
of training saw; the calibration survives the registry and the served refit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.modelling import fit_and_evaluate, make_record
from services.scoring.domain.params import CHURN, parse_params
from services.scoring.domain.synthetic_tables import usage_table
from services.scoring.domain.table import prepare_table
from services.scoring.domain.tuning import PORTFOLIO, candidates, log_loss, make_folds

QUICK = {"tuning_trials": "4", "cv_folds": "3", "learning_rate": "0.1"}


def _choices(tuning: dict) -> dict:
    """The tuning summary without its timing."""
    return {k: v for k, v in tuning.items() if k != "seconds"}


@settings(max_examples=60, deadline=None)
@given(
    accounts=st.lists(st.integers(1, 4), min_size=2, max_size=40),
    churn_share=st.floats(0.05, 0.95),
    k=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["churn", "value"]),
)
def test_folds_keep_accounts_whole_and_cover_every_row_once(
    accounts: list[int], churn_share: float, k: int, seed: int, kind: str
) -> None:
    groups = np.repeat([f"A{i}" for i in range(len(accounts))], accounts)
    rng = np.random.default_rng(seed)
    churned = rng.random(len(accounts)) < churn_share
    y = np.repeat(churned.astype(float), accounts)
    folds = make_folds(kind, y, groups, k, seed)
    if not folds:  # too few accounts (or of one class) for two folds
        n_pos = int(churned.sum())
        assert len(accounts) < 2 or (kind == CHURN and min(n_pos, len(accounts) - n_pos) < 2)
        return
    seen = np.zeros(len(y), dtype=int)
    for train, valid in folds:
        assert len(valid) and len(train)
        assert not set(groups[train]) & set(groups[valid])  # an account is on one side only
        assert len(np.intersect1d(train, valid)) == 0
        seen[valid] += 1
        if kind == CHURN:
            assert 0 < y[valid].sum() < len(valid) or len(folds) == 2 and len(set(groups[valid])) < 2
    assert (seen == 1).all()


def test_parameters_the_request_sets_are_never_tuned() -> None:
    params = parse_params({"num_leaves": "9", "tuning_trials": "8"})
    tried = candidates(params, 8, 17)
    assert tried[0] == {} and len(tried) == 8
    assert all("num_leaves" not in c for c in tried)
    assert tried[1] == {k: v for k, v in PORTFOLIO[0].items() if k != "num_leaves"}
    # Reproducible: the same seed draws the same sets.
    assert candidates(params, 8, 17) == tried


def _usage_split(rows: int = 5000):
    raw = usage_table(rows, seed=5)
    table = prepare_table(raw, b"u", id_column="customer_id", label_column="churned", holdout_fraction=0.3)
    return table.train, table.holdout


def test_tuning_never_sees_the_holdout() -> None:
    train, holdout = _usage_split(1500)
    flipped = holdout.assign(label=1 - holdout["label"])
    params = parse_params(QUICK)
    a = fit_and_evaluate(CHURN, train, holdout, params, with_baseline=False, refit_all=False)
    b = fit_and_evaluate(CHURN, train, flipped, params, with_baseline=False, refit_all=False)
    # Same choices whatever the holdout's labels: parameters, rounds, calibration, the fit itself.
    assert _choices(a.model.tuning) == _choices(b.model.tuning) and a.model.tuning["trials"] == 4
    assert a.model.params == b.model.params and a.model.best_iteration == b.model.best_iteration
    assert a.model.calibration == b.model.calibration
    assert a.model.model_text() == b.model.model_text()
    # ... while the holdout metrics do see them (the check above is not vacuous).
    assert a.metrics.roc_auc > 0.6 > b.metrics.roc_auc


def test_out_of_fold_calibration_lowers_log_loss_on_unseen_rows() -> None:
    train, holdout = _usage_split()
    y = holdout["label"].to_numpy(dtype=float)
    losses = {}
    for method in ("platt", "none"):
        params = parse_params({"tuning_trials": "6", "calibration": method})
        fitted = fit_and_evaluate(CHURN, train, holdout, params, with_baseline=False, refit_all=False)
        losses[method] = log_loss(y, fitted.model.predict_frame(holdout))
        if method == "platt":
            cal = fitted.model.calibration
            assert cal["method"] == "platt" and cal["oof_log_loss_after"] < cal["oof_log_loss_before"]
            platt_fitted = fitted
    assert losses["platt"] < losses["none"], losses
    # The registry keeps the calibration: the loaded version scores exactly like the fitted one.
    record = make_record("churn-x", platt_fitted, {}, description="", job_id="", now=pd.Timestamp.now(tz="UTC"))
    assert record.logit_scale == platt_fitted.model.logit_scale != 1.0
    assert record.lineage["calibration"]["method"] == "platt" and record.lineage["tuning"]["folds"] == 4
    X = platt_fitted.model.schema.encode_frame(holdout)
    np.testing.assert_allclose(record.load().predict(X), platt_fitted.model.predict(X), rtol=1e-9)


def test_the_served_refit_keeps_the_evaluated_models_choices() -> None:
    train, holdout = _usage_split(1500)
    params = parse_params(QUICK)
    evaluated = fit_and_evaluate(CHURN, train, holdout, params, with_baseline=False, refit_all=False).model
    served = fit_and_evaluate(CHURN, train, holdout, params, with_baseline=False).model
    assert served.served_rows == len(train) + len(holdout)
    assert served.train_rows == len(train) and served.validation_rows == 0
    assert (served.params, served.best_iteration, _choices(served.tuning)) == (
        evaluated.params,
        evaluated.best_iteration,
        _choices(evaluated.tuning),
    )
    assert (served.logit_scale, served.logit_offset, served.positive_weight) == (
        evaluated.logit_scale,
        evaluated.logit_offset,
        evaluated.positive_weight,
    )
    assert served.model_text() != evaluated.model_text()  # refitted on the holdout's rows too


def test_a_large_frame_is_tuned_on_a_sample_of_accounts_then_fitted_on_all_rows() -> None:
    train, holdout = _usage_split(3000)
    params = parse_params({**QUICK, "tuning_rows": "600"})
    model = fit_and_evaluate(CHURN, train, holdout, params, with_baseline=False, refit_all=False).model
    assert 300 < model.tuning["sampled_rows"] < 900 and model.tuning["trials"] == 4
    # The chosen set's rounds come from an early-stopping split of every training row ...
    assert model.validation_rows > 0 and model.train_rows + model.validation_rows == len(train)
    assert model.params.lgbm != parse_params(QUICK).lgbm or model.tuning["chosen"] == {}
    # ... and the churn probability is calibrated on that split's rows.
    assert model.calibration["method"] in ("platt", "prior") and model.calibration["oof_log_loss_before"] > 0
