"""Every row counts and training threads are bounded: the served fit, honest holdouts, threads."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from services.scoring.app import domain_config
from services.scoring.domain.evaluation import evaluate
from services.scoring.domain.modelling import fit_and_evaluate, make_record
from services.scoring.domain.params import parse_params
from services.scoring.domain.schema import fit_schema
from services.scoring.domain.table import prepare_table
from services.scoring.domain.training import _lgb_params, train_model, usable_cpus
from services.scoring.settings import ScoringSettings
from services.scoring.usecases.context import Context
from services.scoring.usecases.train import _training_slot

from .conftest import Sets

FAST = {"num_boost_round": "200", "learning_rate": "0.1"}


@pytest.fixture
def fit_rows(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Rows of the training set of every booster lgb.train returns (by booster id)."""
    import lightgbm as lgb

    real = lgb.train
    rows: dict[int, int] = {}

    def spy(params: dict, train_set: lgb.Dataset, *args: object, **kwargs: object) -> lgb.Booster:
        booster = real(params, train_set, *args, **kwargs)  # type: ignore[arg-type]
        rows[id(booster)] = train_set.num_data()
        return booster

    monkeypatch.setattr(lgb, "train", spy)
    return rows


@pytest.fixture(scope="module")
def table_split(churn_sets: Sets):
    frame = churn_sets.train[churn_sets.train["as_of"] == churn_sets.train["as_of"].max()].drop(columns=["as_of"])
    return prepare_table(frame.reset_index(drop=True), b"t", id_column="customer_id", label_column="label")


def test_the_served_table_model_is_fitted_on_every_row(table_split, fit_rows: dict[int, int]) -> None:
    fitted = fit_and_evaluate("churn", table_split.train, table_split.holdout, parse_params(FAST), with_baseline=False)
    booster = fitted.model.booster
    assert fit_rows[id(booster)] == table_split.rows == len(table_split.train) + len(table_split.holdout)
    assert fitted.model.served_rows == table_split.rows
    # Early stopping's split is inside the training rows; the holdout is scored separately.
    assert fitted.model.train_rows + fitted.model.validation_rows == len(table_split.train)
    assert booster.current_iteration() == fitted.model.best_iteration
    record = make_record(
        "churn-rows", fitted, {"source": "table"}, description="", job_id="j", now=pd.Timestamp.now("UTC")
    )
    assert record.lineage["served_rows"] == table_split.rows
    assert record.lineage["holdout_rows"] == len(table_split.holdout)


def test_profile_served_model_includes_the_holdout_cutoff(churn_sets: Sets, fit_rows: dict[int, int]) -> None:
    fitted = fit_and_evaluate("churn", churn_sets.train, churn_sets.holdout, parse_params(FAST), horizon_months=3)
    assert fit_rows[id(fitted.model.booster)] == len(churn_sets.train) + len(churn_sets.holdout)
    assert fitted.model.served_rows == len(churn_sets.train) + len(churn_sets.holdout)


def test_holdout_metrics_come_from_a_model_that_never_saw_the_holdout(table_split) -> None:
    params = parse_params(FAST)
    train, holdout = table_split.train, table_split.holdout
    assert not set(train["customer_id"]) & set(holdout["customer_id"])
    fitted = fit_and_evaluate("churn", train, holdout, params, with_baseline=False)
    # The same metrics as a model fitted on the training rows alone (rounds chosen inside them).
    alone = train_model("churn", train, params, schema=fit_schema(train))
    metrics, pred = evaluate(alone, holdout, None)
    np.testing.assert_allclose(fitted.holdout.pred, pred, rtol=1e-12)
    assert fitted.metrics.to_dict() == metrics.to_dict()
    # Holdout labels play no part in choosing the rounds.
    flipped = holdout.assign(label=1 - holdout["label"])
    again = fit_and_evaluate("churn", train, flipped, params, with_baseline=False)
    assert again.model.best_iteration == fitted.model.best_iteration == alone.best_iteration


def test_training_threads_are_honoured_and_never_zero(table_split) -> None:
    params = parse_params(FAST)
    assert _lgb_params("churn", params)["num_threads"] == usable_cpus() >= 1
    assert _lgb_params("churn", params, 3)["num_threads"] == 3
    assert _lgb_params("churn", parse_params({"num_threads": "2"}), 3)["num_threads"] == 2  # the request wins
    fitted = fit_and_evaluate("churn", table_split.train, table_split.holdout, params, with_baseline=False, threads=1)
    assert fitted.model.booster.params["num_threads"] == 1


def test_training_threads_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ScoringSettings().training_threads == len(os.sched_getaffinity(0))
    monkeypatch.setenv("TELCO360_SCORING_TRAINING_THREADS", "2")
    settings = ScoringSettings()
    assert settings.training_threads == 2
    config = domain_config(settings)
    assert config.training_threads == 2 and config.scoring_threads == settings.scoring_threads


def test_concurrent_training_jobs_queue_for_the_one_slot() -> None:
    ctx = Context(store=None, source=None, runner=None)  # type: ignore[arg-type]
    messages: list[str] = []
    order: list[str] = []

    class Progress:
        def update(self, **kw: object) -> None:
            messages.append(str(kw.get("message")))

    def job(name: str, hold: float) -> None:
        with _training_slot(ctx, Progress()):
            order.append(f"{name} in")
            time.sleep(hold)
            order.append(f"{name} out")

    first = threading.Thread(target=job, args=("a", 0.3))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=job, args=("b", 0.0))
    second.start()
    first.join()
    second.join()
    assert order == ["a in", "a out", "b in", "b out"]
    assert any("waiting for another training job" in m for m in messages)


def test_a_champion_fitted_on_the_holdout_is_compared_by_its_own_metric() -> None:
    from types import SimpleNamespace

    from services.scoring.domain.registry import promotion_decision
    from services.scoring.usecases.train import champion_saw_holdout

    h1, h2 = "2026-03-07T00:00:00+00:00", "2026-06-07T00:00:00+00:00"
    records = {
        "refit": SimpleNamespace(
            kind="churn",
            metrics={"roc_auc": 0.81},
            lineage={
                "source": "profile",
                "as_of": ["2025-12-07T00:00:00+00:00"],
                "holdout_as_of": h1,
                "train_rows": 80,
                "validation_rows": 20,
                "served_rows": 150,
            },
        ),
        "old": SimpleNamespace(
            kind="churn",
            metrics={"roc_auc": 0.81},
            lineage={"source": "profile", "as_of": [], "holdout_as_of": h1, "train_rows": 80, "validation_rows": 20},
        ),
    }
    store = SimpleNamespace(get_model=lambda model_id, with_blobs=True: records[model_id])
    ctx = Context(store=store, source=None, runner=None)  # type: ignore[arg-type]
    # Refitted on the rows of the holdout cut-off h1: its own registered metric counts.
    assert champion_saw_holdout(ctx, "refit", {"source": "profile", "holdout_as_of": h1}) == 0.81
    assert champion_saw_holdout(ctx, "refit", {"source": "table"}) == 0.81
    # A later holdout it never saw, or a champion served as fitted: scored on the new holdout.
    assert champion_saw_holdout(ctx, "refit", {"source": "profile", "holdout_as_of": h2}) is None
    assert champion_saw_holdout(ctx, "old", {"source": "profile", "holdout_as_of": h1}) is None
    promote, note = promotion_decision("IF_BETTER", 0.82, 0.81, 0.0, "ROC-AUC", champion_on="on its own holdout")
    assert promote and "on its own holdout" in note
