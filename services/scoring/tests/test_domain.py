"""Domain tests: honest training sets, models that beat the baselines, reasons, tables, Dask."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import synthetic
from services.scoring.domain.labels import Outcomes, build_training_set, churn_labels, value_targets, window_months
from services.scoring.domain.modelling import fit_and_evaluate, make_record
from services.scoring.domain.params import parse_params
from services.scoring.domain.reasons import display_value, explain
from services.scoring.domain.registry import promotion_decision
from services.scoring.domain.table import prepare_table, read_table
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from .conftest import HORIZON, Sets

FAST = {"num_boost_round": "300", "learning_rate": "0.08"}


@pytest.fixture(scope="module")
def churn_fit(churn_sets: Sets):
    return fit_and_evaluate("churn", churn_sets.train, churn_sets.holdout, parse_params(FAST), horizon_months=HORIZON)


def _perturb_after(base: synthetic.SyntheticBase, m: int) -> synthetic.SyntheticBase:
    """A copy of the base whose every fact from month m on is different."""
    rng = np.random.default_rng(99)
    copy = synthetic.SyntheticBase(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(base).items()})
    copy.fees[:, m:, :] = rng.random(copy.fees[:, m:, :].shape) * 1e6
    copy.complaints[:, m:] = 9
    copy.faults[:, m:] = 9
    copy.visits[:, m:] = 0
    copy.survey[:, m:] = 1.0
    copy.overdue[:, m:] = 365
    copy.approach[:, m:] = True
    return copy


def test_training_rows_use_no_feature_from_after_as_of(base: synthetic.SyntheticBase) -> None:
    m = 18
    before = synthetic.features_as_of(base, m)
    after = synthetic.features_as_of(_perturb_after(base, m), m)
    pd.testing.assert_frame_equal(before, after)


def test_labels_come_only_from_the_window_after_as_of(churn_sets: Sets) -> None:
    base, oc = churn_sets.base, churn_sets.outcomes
    m = 18
    cut = base.cutoff(m)
    ids = pd.Index(synthetic.features_as_of(base, m)["customer_id"])
    window = set(window_months(cut, HORIZON))
    prev = window_months(cut, HORIZON)[0]
    keep = oc.revenue["month"].isin(window) | (oc.revenue["month"] < prev)
    far_future = oc.lifecycle["occurred_at"] > cut + pd.DateOffset(months=HORIZON)
    # Facts after the window changed (terminations moved away, later bills dropped): same labels.
    trimmed = Outcomes(oc.revenue[keep], oc.lifecycle[~far_future])
    assert churn_labels(oc, ids, cut, HORIZON).equals(churn_labels(trimmed, ids, cut, HORIZON))
    assert value_targets(oc, ids, cut, HORIZON).equals(value_targets(trimmed, ids, cut, HORIZON))


def test_features_from_another_cut_off_are_refused(churn_sets: Sets) -> None:
    base = churn_sets.base
    later = synthetic.features_as_of(base, 21)
    with pytest.raises(FailedPrecondition, match="not the cut-off"):
        build_training_set(later, churn_sets.outcomes, base.cutoff(18), HORIZON)


def test_label_window_past_the_known_data_is_refused(churn_sets: Sets) -> None:
    base = churn_sets.base
    with pytest.raises(FailedPrecondition, match="after the last complete data"):
        build_training_set(synthetic.features_as_of(base, 32), churn_sets.outcomes, base.cutoff(32), HORIZON)


def test_accounts_gone_at_as_of_are_excluded_and_feedback_features_dropped(churn_sets: Sets) -> None:
    base = churn_sets.base
    m = 24
    feats = synthetic.features_as_of(base, m)
    feats["churn_probability"] = 0.5
    ts = build_training_set(feats, churn_sets.outcomes, base.cutoff(m), HORIZON)
    gone = set(base.customer_ids[(base.terminated >= 0) & (base.terminated < m)])
    assert gone and not gone & set(ts["customer_id"])
    assert "churn_probability" not in ts.columns and "status" not in ts.columns
    assert (ts["as_of"] == base.cutoff(m)).all()


def test_churn_model_beats_the_fee_trend_baseline_on_the_time_based_holdout(churn_fit, churn_sets: Sets) -> None:
    m = churn_fit.metrics
    margin = m.roc_auc - m.baseline_roc_auc
    print(
        f"\nchurn holdout ({len(churn_sets.holdout)} accounts, base rate {m.base_rate:.3f}): "
        f"ROC-AUC {m.roc_auc:.3f} vs fee-trend baseline {m.baseline_roc_auc:.3f} (margin {margin:+.3f}); "
        f"PR-AUC {m.pr_auc:.3f}; top-10 % lift {m.lift_top10:.2f} vs {m.baseline_lift_top10:.2f}; "
        f"capture {m.capture_top10:.2f}; Brier {m.brier:.4f}; log loss {m.log_loss:.4f}"
    )
    assert churn_sets.holdout["as_of"].min() > churn_sets.train["as_of"].max()
    assert margin >= 0.05
    assert m.lift_top10 > m.baseline_lift_top10
    # Reweighting positives is corrected back to the prior: the mean probability stays honest.
    assert abs(float(churn_fit.holdout.pred.mean()) - m.base_rate) < 0.5 * m.base_rate
    assert sum(b.count for b in m.calibration) == len(churn_sets.holdout)


def test_value_model_beats_trailing_revenue(value_sets: Sets) -> None:
    fitted = fit_and_evaluate("value", value_sets.train, value_sets.holdout, parse_params(FAST), horizon_months=6)
    m = fitted.metrics
    print(
        f"\nvalue holdout: Spearman {m.spearman:.3f} vs trailing revenue {m.baseline_spearman:.3f}; R² {m.r2:.3f}; "
        f"top decile holds {m.top_decile_revenue_share:.2f} of revenue (ideal {m.top_decile_revenue_share_ideal:.2f})"
    )
    assert m.spearman > m.baseline_spearman
    assert m.r2 > 0.5
    assert m.top_decile_revenue_share > 0.8 * m.top_decile_revenue_share_ideal


def test_reasons_name_real_features_of_that_account(churn_fit, churn_sets: Sets) -> None:
    model = churn_fit.model
    hold = churn_sets.holdout
    top = np.argsort(-churn_fit.holdout.pred)[:25]
    X = model.schema.encode_frame(hold.iloc[top])
    reasons = explain(model.booster, X, model.schema, 3, True, model.best_iteration)
    for row, rs in zip(top, reasons, strict=False):
        assert rs, "a high-risk account has reasons"
        assert [r.contribution for r in rs] == sorted((r.contribution for r in rs), reverse=True)
        assert rs[0].contribution > 0
        for r in rs:
            value = hold.iloc[row][r.feature]
            assert not pd.isna(value), f"{r.feature} has a value for this account"
            assert r.value == display_value(
                r.feature, X[list(top).index(row), model.schema.index_of(r.feature)], model.schema
            )
            assert r.phrase and "_" not in r.phrase, r.phrase
    phrases = " | ".join(r.phrase for rs in reasons for r in rs)
    assert "fee" in phrases or "complaint" in phrases, phrases


def test_registry_record_round_trips_the_model(churn_fit, churn_sets: Sets) -> None:
    import datetime as dt

    record = make_record(
        "churn-test",
        churn_fit,
        {"source": "profile", "horizon_months": HORIZON},
        description="t",
        job_id="j",
        now=dt.datetime.now(dt.UTC),
    )
    loaded = record.load()
    # The stored model is the served one (refitted on every row), not the one the holdout scored.
    served = churn_fit.model.predict_frame(churn_sets.holdout)
    np.testing.assert_allclose(loaded.predict_frame(churn_sets.holdout), served, rtol=1e-9)
    assert record.lineage["train_rows"] + record.lineage["validation_rows"] == len(churn_sets.train)
    assert record.lineage["served_rows"] == len(churn_sets.train) + len(churn_sets.holdout)
    assert abs(sum(record.importance["gain"].values()) - 1) < 1e-9


def test_promotion_rule() -> None:
    assert promotion_decision("IF_BETTER", 0.80, None, 0.0, "ROC-AUC")[0]
    assert promotion_decision("IF_BETTER", 0.81, 0.80, 0.0, "ROC-AUC")[0]
    assert not promotion_decision("IF_BETTER", 0.805, 0.80, 0.01, "ROC-AUC")[0]
    assert not promotion_decision("NEVER", 0.99, 0.5, 0.0, "ROC-AUC")[0]
    assert promotion_decision("ALWAYS", 0.1, 0.9, 0.0, "ROC-AUC")[0]


def test_bad_parameters_name_each_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_params({"learning_rate": "-1", "nonsense": "1", "num_leaves": "31"})
    assert {v.field for v in err.value.violations} == {"parameters[learning_rate]", "parameters[nonsense]"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bring_your_own_table_round_trip(churn_sets: Sets, fmt: str) -> None:
    frame = churn_sets.train.rename(columns={"customer_id": "account", "label": "left"})
    frame["period"] = frame["as_of"].dt.strftime("%Y-%m")
    frame = frame.drop(columns=["as_of"])
    frame["left"] = np.where(frame["left"] == 1, "yes", "no")
    buf = io.BytesIO()
    frame.to_csv(buf, index=False) if fmt == "csv" else frame.to_parquet(buf, index=False)
    content = buf.getvalue()
    table = read_table(content, fmt)
    split = prepare_table(
        table, content, id_column="account", label_column="left", time_column="period", exclude=("tenure_months",)
    )
    assert set(split.holdout.columns) == set(split.train.columns)
    assert "tenure_months" not in split.train.columns and "period" not in split.train.columns
    fitted = fit_and_evaluate("churn", split.train, split.holdout, parse_params(FAST), with_baseline=False)
    assert fitted.metrics.roc_auc > 0.75
    assert "industry" in {f.name for f in fitted.model.schema.features if f.type == "categorical"}


def test_bring_your_own_table_rejects_unknown_columns() -> None:
    table = pd.DataFrame({"id": ["a", "b"], "y": [0, 1], "x": [1.0, 2.0]})
    with pytest.raises(InvalidArgument) as err:
        prepare_table(table, b"", id_column="id", label_column="missing")
    assert err.value.violations[0].field == "label_column"


def test_dask_path_trains_on_a_local_cluster(churn_sets: Sets) -> None:
    import distributed

    from services.scoring.domain.distributed import dask_trainer

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        fitted = fit_and_evaluate(
            "churn",
            churn_sets.train,
            churn_sets.holdout,
            parse_params({"num_boost_round": "120", "learning_rate": "0.1"}),
            trainer=dask_trainer(client),
        )
    assert fitted.model.trained_on.startswith("inproc://")
    assert 1 <= fitted.model.best_iteration <= 120
    assert fitted.metrics.roc_auc > fitted.metrics.baseline_roc_auc
    print(f"\nDask: ROC-AUC {fitted.metrics.roc_auc:.3f}, best iteration {fitted.model.best_iteration}")


def test_training_is_reproducible(churn_fit, churn_sets: Sets) -> None:
    again = fit_and_evaluate("churn", churn_sets.train, churn_sets.holdout, parse_params(FAST), horizon_months=HORIZON)
    assert again.model.best_iteration == churn_fit.model.best_iteration
    assert np.array_equal(np.asarray(again.holdout.pred), np.asarray(churn_fit.holdout.pred))


@settings(max_examples=100, deadline=None)
@given(
    rule=st.sampled_from(["NEVER", "IF_BETTER", "ALWAYS"]),
    challenger=st.floats(-1, 1),
    baseline=st.floats(-1, 1),
    champion=st.one_of(st.none(), st.floats(-1, 1)),
    gain=st.floats(0, 1),
)
def test_auto_promotion_never_promotes_a_model_that_does_not_beat_its_baseline(
    rule: str, challenger: float, baseline: float, champion: float | None, gain: float
) -> None:
    promote, note = promotion_decision(rule, challenger, champion, gain, "ROC-AUC", baseline)
    if challenger <= baseline:
        assert not promote and ("baseline" in note or rule == "NEVER")
    if promote:
        assert challenger > baseline and (champion is None or rule == "ALWAYS" or challenger - champion > gain)


def test_job_failures_read_as_sentences() -> None:
    import lightgbm as lgb

    from services.scoring.usecases.jobs import clean_failures

    def raising(exc: Exception):
        def body(job_id: str, progress: object) -> str:
            raise exc

        return body

    for exc, expected in (
        (KeyError("SECRET_COLUMN"), "failed unexpectedly"),
        (lgb.basic.LightGBMError("Check failed: (num_leaves) > (1) at config.cpp"), "LightGBM could not"),
    ):
        with pytest.raises(FailedPrecondition) as err:
            clean_failures("train_from_table", "job-1", raising(exc), None)
        assert expected in err.value.message and "job-1" in err.value.message
        assert "SECRET" not in err.value.message and "Check failed" not in err.value.message
        assert err.value.__cause__ is exc  # the server log keeps the original
    with pytest.raises(InvalidArgument):  # domain errors pass through with their own sentence
        clean_failures("train_model", "job-2", raising(InvalidArgument(FieldViolation("x", "bad"))), None)


def test_table_errors_never_echo_the_tables_data() -> None:
    frame = pd.DataFrame(
        {
            "acct": [f"A{i}" for i in range(40)],
            "SECRET_HEADER": range(40),
            "left": ["SECRET_VALUE" if i == 3 else "no" for i in range(40)],
        }
    )
    content = frame.to_csv(index=False).encode()
    for kwargs in (
        {"id_column": "acct", "label_column": "missing"},
        {"id_column": "acct", "label_column": "left"},
        {"id_column": "acct", "label_column": "acct"},
    ):
        with pytest.raises(InvalidArgument) as err:
            prepare_table(read_table(content, "csv"), content, **kwargs)
        assert "SECRET" not in str(err.value) and all("SECRET" not in v.description for v in err.value.violations)
    with pytest.raises(InvalidArgument) as err:
        read_table(b"a,b\n1,2\nSECRET_ROW,2,3,4\n", "csv")
    assert "SECRET" not in str(err.value) and "same number of fields" in str(err.value)
