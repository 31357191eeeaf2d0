"""Fit, evaluate on the holdout, and package a model version for the registry.

Shared by both training paths (profile features and a brought table) and by both
back-ends (local LightGBM and Dask): everything after "here is a training frame and a
holdout frame" happens here once.

Every row counts: the metrics come from a model that never saw the holdout (fitted on the
training frame, its rounds chosen by early stopping on a split of that frame); the model
that is served is then refitted with those rounds on the training and holdout frames
together (for a table: all its rows; for profile training: every cut-off, the holdout's
included, whose labels are complete). The lineage says both: `train_rows` and
`validation_rows` (the early-stopping split), `holdout_rows` (the metrics) and
`served_rows` (the served fit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .baseline import churn_baseline, value_baseline
from .evaluation import ChurnMetrics, ValueMetrics, evaluate
from .params import CHURN, TrainParams
from .registry import READY, Holdout, ModelRecord
from .schema import FeatureSchema, fit_schema
from .training import ProgressFn, TrainedModel, refit_served, train_model

if TYPE_CHECKING:
    import lightgbm as lgb

Trainer = Callable[[str, pd.DataFrame, TrainParams, FeatureSchema, ProgressFn | None], TrainedModel]


@dataclass
class Fitted:
    """A trained model with its holdout evaluation."""

    model: TrainedModel
    metrics: ChurnMetrics | ValueMetrics
    holdout: Holdout


def new_model_id(kind: str, now: dt.datetime) -> str:
    """A readable unique model id, e.g. churn-20261123-093012-ab12cd."""
    return f"{kind}-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def frame_fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's content (lineage: which data the model saw)."""
    hashed = pd.util.hash_pandas_object(df.reindex(sorted(df.columns), axis=1), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def local_trainer(
    kind: str,
    df: pd.DataFrame,
    params: TrainParams,
    schema: FeatureSchema,
    progress: ProgressFn | None,
    threads: int | None = None,
) -> TrainedModel:
    """Train on this machine (`threads` OpenMP threads; None: the CPUs the process may use)."""
    return train_model(kind, df, params, schema=schema, progress=progress, threads=threads)


def fit_and_evaluate(
    kind: str,
    train_df: pd.DataFrame,
    holdout_df: pd.DataFrame,
    params: TrainParams,
    *,
    horizon_months: int = 12,
    descriptions: dict[str, str] | None = None,
    exclude: tuple[str, ...] = (),
    with_baseline: bool = True,
    trainer: Trainer = local_trainer,
    progress: ProgressFn | None = None,
    threads: int | None = None,
    refit_all: bool = True,
) -> Fitted:
    """Fit on the training frame, evaluate on the (later) holdout frame, refit on both.

    The metrics, holdout predictions and risk thresholds are those of the model fitted on
    the training frame only. With `refit_all` (and a local fit: a Dask fit stays as it is),
    the returned model is the served one, refitted on training and holdout rows together
    with the rounds early stopping chose.
    """
    schema = fit_schema(train_df, exclude=exclude, descriptions=descriptions)
    model = trainer(kind, train_df, params, schema, progress)
    if progress:
        progress(f"evaluating on {len(holdout_df)} holdout rows")
    baseline = None
    if with_baseline:
        baseline = churn_baseline(holdout_df) if kind == CHURN else value_baseline(holdout_df, horizon_months)
    metrics, pred = evaluate(model, holdout_df, baseline)
    if isinstance(metrics, ChurnMetrics):
        model.risk = metrics.thresholds()
    holdout = Holdout(
        y=holdout_df["label"].to_numpy(dtype=np.float64),
        pred=np.asarray(pred, dtype=np.float64),
        baseline=np.asarray(baseline if baseline is not None else [], dtype=np.float64),
    )
    if refit_all and model.trained_on == "local":
        full_df = pd.concat([train_df, holdout_df], ignore_index=True, sort=False)
        full_schema = fit_schema(full_df, exclude=exclude, descriptions=descriptions)
        model = refit_served(model, full_df, full_schema, progress=progress, threads=threads)
    return Fitted(model, metrics, holdout)


def importance(model: TrainedModel) -> dict[str, dict[str, float]]:
    """Gain (normalised to sum 1) and split counts per feature."""
    booster: lgb.Booster = model.booster
    names = model.schema.names
    gain = booster.feature_importance("gain", iteration=model.best_iteration).astype(np.float64)
    split = booster.feature_importance("split", iteration=model.best_iteration)
    total = float(gain.sum()) or 1.0
    return {
        "gain": {n: float(g / total) for n, g in zip(names, gain, strict=False)},
        "split": {n: int(s) for n, s in zip(names, split, strict=False)},
    }


def make_record(
    model_id: str,
    fitted: Fitted,
    lineage: dict[str, Any],
    *,
    description: str,
    job_id: str,
    now: dt.datetime,
) -> ModelRecord:
    """The registry record of a fitted model (version assigned by the store)."""
    import lightgbm as lgb  # deferred: loading LightGBM takes a second

    m = fitted.model
    lineage = {
        **lineage,
        "train_rows": m.train_rows,
        "validation_rows": m.validation_rows,
        "holdout_rows": int(len(fitted.holdout.y)),
        "metrics_from": "holdout rows, scored by a model fitted without them",
        "served_rows": m.served_rows or m.train_rows,
        "accounts": m.accounts,
        "positives": m.positives,
        "parameters": m.params.as_strings(),
        "best_iteration": m.best_iteration,
        **({"tuning": m.tuning} if m.tuning else {}),
        **({"calibration": m.calibration} if m.calibration else {}),
        "training_seconds": round(m.training_seconds, 3),
        "trained_on": m.trained_on,
        "lightgbm_version": lgb.__version__,
    }
    return ModelRecord(
        model_id=model_id,
        kind=m.kind,
        version=0,
        status=READY,
        description=description,
        created_at=now,
        features=m.schema.to_list(),
        importance=importance(m),
        metrics=fitted.metrics.to_dict(),
        lineage=lineage,
        best_iteration=m.best_iteration,
        logit_offset=m.logit_offset,
        logit_scale=m.logit_scale,
        value_boundaries=list(m.value_boundaries),
        model_text=m.model_text(),
        holdout=fitted.holdout.to_bytes(),
        job_id=job_id,
    )
