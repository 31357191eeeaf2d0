"""Training on a Dask cluster with LightGBM's own Dask estimators.

Used when a scheduler address is configured. The encoded training matrix is split into
row chunks that Dask spreads over the workers; LightGBM's distributed learner trains one
model across them. LightGBM's Dask estimators do not support early-stopping callbacks, so
the model is trained for the full number of rounds and the best iteration is chosen
afterwards on the same account-level validation split the local path uses (validation
loss at checkpoints), which keeps both paths comparable.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .params import CHURN, VALUE, TrainParams
from .schema import FeatureSchema
from .training import (
    ProgressFn,
    TrainedModel,
    _lgb_params,
    check_trainable,
    positive_weight,
    validation_mask,
    value_boundaries,
)

if TYPE_CHECKING:
    from .modelling import Trainer


def _validation_loss(kind: str, raw: np.ndarray, y: np.ndarray, offset: float) -> float:
    """Log loss (churn, after the prior correction) or squared error (value)."""
    if kind == CHURN:
        p = np.clip(1.0 / (1.0 + np.exp(-(raw - offset))), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(np.mean((raw - y) ** 2))


def best_iteration_by_checkpoints(
    booster: Any, kind: str, X_val: np.ndarray, y_val: np.ndarray, offset: float, rounds: int, step: int = 10
) -> int:
    """The round count (multiple of `step`, or the last) with the lowest validation loss."""
    if len(y_val) == 0:
        return rounds
    best_k, best_loss = rounds, math.inf
    for k in sorted({*range(step, rounds + 1, step), rounds}):
        loss = _validation_loss(kind, booster.predict(X_val, raw_score=True, num_iteration=k), y_val, offset)
        if loss < best_loss - 1e-12:
            best_k, best_loss = k, loss
    return best_k


def train_model_dask(
    kind: str,
    df: pd.DataFrame,
    params: TrainParams,
    schema: FeatureSchema,
    client: Any,
    progress: ProgressFn | None = None,
    chunk_rows: int = 50_000,
) -> TrainedModel:
    """Fit a churn or value model on the Dask cluster behind `client`."""
    import dask.array as da
    import lightgbm as lgb

    y = df["label"].to_numpy(dtype=np.float64)
    check_trainable(kind, y, len(df))
    X = schema.encode_frame(df)
    seed = int(params.lgbm.get("seed", 17))
    val = validation_mask(df["customer_id"], float(params.loop["validation_fraction"]), seed)
    w_pos = positive_weight(y[~val], params.loop["scale_pos_weight"]) if kind == CHURN else 1.0
    X_tr, y_tr = X[~val], y[~val]
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    chunk = max(1, min(chunk_rows, math.ceil(len(y_tr) / workers)))
    dX = da.from_array(X_tr, chunks=(chunk, X_tr.shape[1]))
    dy = da.from_array(y_tr, chunks=chunk)
    rounds = int(params.loop["num_boost_round"])
    lgb_params = _lgb_params(kind, params)
    lgb_params.pop("metric", None)
    lgb_params.pop("force_row_wise", None)
    lgb_params.pop("deterministic", None)
    if int(params.lgbm.get("num_threads") or 0) <= 0:
        lgb_params.pop("num_threads", None)  # each Dask worker uses its own threads
    est_cls = lgb.DaskLGBMClassifier if kind == CHURN else lgb.DaskLGBMRegressor
    estimator = est_cls(client=client, n_estimators=rounds, **lgb_params)
    fit_kwargs: dict[str, Any] = {"categorical_feature": schema.categorical_indices, "feature_name": schema.names}
    if kind == CHURN:
        fit_kwargs["sample_weight"] = da.from_array(np.where(y_tr == 1, w_pos, 1.0), chunks=chunk)
    if progress:
        progress(f"fitting {kind} model on the Dask cluster ({workers} workers, {len(y_tr)} rows)")
    started = time.perf_counter()
    estimator.fit(dX, dy, **fit_kwargs)
    booster = estimator.booster_
    offset = math.log(w_pos) if kind == CHURN else 0.0
    best = best_iteration_by_checkpoints(booster, kind, X[val], y[val], offset, booster.current_iteration())
    elapsed = time.perf_counter() - started
    model = TrainedModel(
        kind=kind,
        booster=booster,
        schema=schema,
        params=params,
        best_iteration=best,
        logit_offset=offset,
        positive_weight=w_pos,
        train_rows=int((~val).sum()),
        validation_rows=int(val.sum()),
        positives=int(y.sum()) if kind == CHURN else 0,
        accounts=int(df["customer_id"].nunique()),
        training_seconds=elapsed,
        trained_on=str(client.scheduler.address),
    )
    if kind == VALUE:
        model.value_boundaries = value_boundaries(model.predict(X))
    return model


def dask_trainer(client: Any) -> Trainer:
    """A trainer (see modelling.fit_and_evaluate) that trains on the given Dask client."""

    def train(
        kind: str, df: pd.DataFrame, params: TrainParams, schema: FeatureSchema, progress: ProgressFn | None
    ) -> TrainedModel:
        return train_model_dask(kind, df, params, schema, client, progress)

    return train
