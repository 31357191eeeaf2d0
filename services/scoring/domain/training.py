"""LightGBM training of churn (binary) and value (regression) models on a training frame.

Training frames have one row per (account, cut-off) with feature columns, `customer_id`,
`as_of` and `label`. The validation split for early stopping is by account (all rows of an
account fall on one side), so stacked cut-offs of one account cannot leak into validation.
Class imbalance is handled by weighting positives; the log of that weight is subtracted
from the raw score when predicting, which restores the true prior (probabilities stay
calibrated).

With `tuning_trials` > 0 (the default) the parameters and the number of rounds are chosen
by cross-validation inside the training rows (tuning.py), the model is then fitted on every
training row, and a churn model's probability is Platt-calibrated on the out-of-fold scores.
With 0, one early-stopping split by account chooses the rounds for the fixed parameters.
Either way `refit_served` then fits the model that is served on every row the caller
allows (see modelling.fit_and_evaluate) with the same parameters, rounds, positive weight
and calibration, so no row is left out of the served fit. Training uses `threads` OpenMP
threads (the `training_threads` setting), never LightGBM's `num_threads=0` (OpenMP's default, all cores of the machine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from telco360_runtime.errors import FailedPrecondition

from .bands import RiskThresholds
from .contributions import PATH, PathTable, path_contributions, path_table, shap_contributions
from .params import CHURN, VALUE, TrainParams
from .schema import FeatureSchema, fit_schema
from .tuning import Folds, Tuned, make_folds, platt, tune

if TYPE_CHECKING:
    import lightgbm as lgb

ProgressFn = Callable[[str], None]


@dataclass
class TrainedModel:
    """A fitted model with everything needed to score, explain and register it."""

    kind: str
    booster: lgb.Booster
    schema: FeatureSchema
    params: TrainParams
    best_iteration: int
    # Churn probability = sigmoid(logit_scale * raw - logit_offset): the prior correction of
    # the positive weight (scale 1, offset log w) or Platt scaling fitted out of fold.
    logit_offset: float = 0.0
    logit_scale: float = 1.0
    positive_weight: float = 1.0
    # Rows early stopping fitted on and validated on (they chose `best_iteration`).
    train_rows: int = 0
    validation_rows: int = 0
    # Rows the served booster was fitted on (every row, see refit_served); 0 until refitted.
    served_rows: int = 0
    # Cross-validation that chose parameters and rounds, and the calibration (lineage).
    tuning: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    positives: int = 0
    accounts: int = 0
    training_seconds: float = 0.0
    trained_on: str = "local"
    value_boundaries: list[float] = field(default_factory=list)
    # Risk-band cut-offs (churn); set from the holdout when the version is registered.
    risk: RiskThresholds = field(default_factory=RiskThresholds)
    # One OpenMP thread per prediction: serving parallelises over requests instead, and
    # OpenMP teams spinning in many concurrent calls (or processes) starve each other.
    predict_threads: int = 1
    # Decision-path contribution table, built on first use (see contributions.py).
    _paths: PathTable | None = field(default=None, repr=False, compare=False)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds for churn before the prior correction, fen for value)."""
        return cast(
            np.ndarray,
            self.booster.predict(
                X, raw_score=True, num_iteration=self.best_iteration, num_threads=self.predict_threads
            ),
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Churn probability or predicted value for each row of an encoded matrix."""
        return self.probability(self.raw(X))

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """Raw scores turned into what predict returns (prior-corrected probability for churn)."""
        if self.kind == CHURN:
            return 1.0 / (1.0 + np.exp(-(self.logit_scale * raw - self.logit_offset)))
        return raw

    def path_table(self) -> PathTable:
        """The decision-path contribution table of this model (built once)."""
        if self._paths is None:
            self._paths = path_table(self.booster, self.best_iteration)
        return self._paths

    def contributions(self, X: np.ndarray, method: str) -> np.ndarray:
        """Per-feature contributions plus bias (rows x features + 1); they sum to the raw score."""
        if method == PATH:
            return path_contributions(self.booster, X, self.best_iteration, self.path_table())
        return shap_contributions(self.booster, X, self.best_iteration)

    def predict_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Predictions for a frame (encoded with the model's schema)."""
        return self.predict(self.schema.encode_frame(df))

    def model_text(self) -> str:
        """The booster as LightGBM text, trimmed to the best iteration."""
        return self.booster.model_to_string(num_iteration=self.best_iteration)


def positive_weight(y: np.ndarray, setting: str | float) -> float:
    """Weight of the positive class from the `scale_pos_weight` setting."""
    pos = float(np.sum(y == 1))
    neg = float(np.sum(y == 0))
    if pos == 0 or neg == 0 or setting == "none":
        return 1.0
    ratio = neg / pos
    if setting == "auto":
        return max(ratio, 1.0)
    if setting == "sqrt":
        return max(math.sqrt(ratio), 1.0)
    return float(setting)


def validation_mask(customer_ids: pd.Series, fraction: float, seed: int) -> np.ndarray:
    """True for rows whose account hashes into the validation share (stable, by account)."""
    salt = str(seed).encode()

    def bucket(cid: Any) -> float:
        digest = hashlib.blake2b(str(cid).encode() + salt, digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    unique = pd.unique(customer_ids)
    buckets = {cid: bucket(cid) for cid in unique}
    return customer_ids.map(buckets).to_numpy() < fraction


def check_trainable(kind: str, y: np.ndarray, rows: int) -> None:
    """Refuse training sets that cannot produce a model."""
    if rows < 20:
        raise FailedPrecondition(f"training set has {rows} rows; at least 20 are needed")
    if kind == CHURN:
        pos = int(np.sum(y == 1))
        if pos < 2 or pos > len(y) - 2:
            raise FailedPrecondition(f"churn training set needs both classes; it has {pos} positives of {len(y)} rows")


def value_boundaries(pred: np.ndarray) -> list[float]:
    """Predicted-value cut points for the six value tiers (top 2/7/17/35/60 %)."""
    if len(pred) == 0:
        return []
    qs = [0.98, 0.93, 0.83, 0.65, 0.40]
    return [float(np.quantile(pred, q)) for q in qs]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; the whole machine where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _lgb_params(kind: str, params: TrainParams, threads: int | None = None) -> dict[str, Any]:
    """LightGBM parameter dict for the kind, quiet, with deterministic defaults.

    `num_threads` 0 (the parameter's default) becomes `threads`, or the CPUs this process may
    use when none is given: never LightGBM's own 0, which takes every core of the machine.
    """
    base: dict[str, Any] = {"verbosity": -1, "deterministic": True, "force_row_wise": True}
    if kind == CHURN:
        base.update(objective="binary", metric="binary_logloss")
    else:
        base.update(objective="regression", metric="l2")
    base.update(params.lgbm)
    if int(base.get("num_threads") or 0) <= 0:
        base["num_threads"] = threads if threads is not None and threads > 0 else usable_cpus()
    return base


def train_model(
    kind: str,
    df: pd.DataFrame,
    params: TrainParams,
    schema: FeatureSchema | None = None,
    progress: ProgressFn | None = None,
    threads: int | None = None,
) -> TrainedModel:
    """Fit a churn or value model on a training frame with early stopping.

    `df` needs `customer_id`, `label` and feature columns. The schema is fitted on `df`
    unless given (e.g. for a brought table with excluded columns). The model is fitted on
    the rows outside the validation split; `refit_served` then fits on all rows.
    """
    import lightgbm as lgb  # deferred: loading LightGBM takes a second, only fitting needs it here

    schema = schema or fit_schema(df)
    if not schema.features:
        raise FailedPrecondition("training set has no usable feature columns")
    y = df["label"].to_numpy(dtype=np.float64)
    check_trainable(kind, y, len(df))
    X = schema.encode_frame(df)
    seed = int(params.lgbm.get("seed", 17))
    tuning: dict[str, Any] = {}
    if int(params.loop.get("tuning_trials", 0)) > 0:
        groups = df["customer_id"].to_numpy()
        limit = int(params.loop.get("tuning_rows", len(y)))
        if len(y) <= limit:
            folds = make_folds(kind, y, groups, int(params.loop["cv_folds"]), seed)
            if folds:
                return _train_tuned(kind, df, X, y, schema, params, folds, progress, threads)
        else:
            # A large frame: tune on a seeded sample of whole accounts (the cost of tuning
            # stays bounded), then choose the rounds for the chosen set on all rows below.
            sample = validation_mask(df["customer_id"], limit / len(y), seed + 2)
            folds = make_folds(kind, y[sample], groups[sample], int(params.loop["cv_folds"]), seed)
            if folds:
                if progress:
                    progress(f"tuning {kind} model on a sample of {int(sample.sum())} of {len(y)} rows")
                tuned, params = _tune(kind, X[sample], y[sample], schema, params, folds, progress, threads)
                tuning = {**tuned.summary(), "sampled_rows": int(sample.sum())}
    val = validation_mask(df["customer_id"], float(params.loop["validation_fraction"]), seed)
    if kind == CHURN and (y[val].sum() == 0 or y[~val].sum() == 0):
        val = np.random.default_rng(seed).random(len(y)) < float(params.loop["validation_fraction"])
    fit_rows = int((~val).sum())
    if fit_rows == 0 or not val.any():
        # LightGBM stops with a fatal "num_data > 0" check on an empty dataset.
        raise FailedPrecondition(
            f"the validation split of {len(y)} rows left "
            f"{'no rows to fit' if fit_rows == 0 else 'no validation rows'}; "
            "change validation_fraction or bring more rows"
        )
    bag = float(params.lgbm.get("bagging_fraction", 1.0))
    if int(params.lgbm.get("bagging_freq", 0)) > 0 and int(bag * fit_rows) < 1:
        # LightGBM would stop with a fatal "num_data > 0" check on an empty bag.
        raise FailedPrecondition(
            f"the fitting split has {fit_rows} rows; bagging_fraction {bag:g} would bag none of them"
        )
    w_pos = positive_weight(y[~val], params.loop["scale_pos_weight"]) if kind == CHURN else 1.0
    weights = np.where(y == 1, w_pos, 1.0) if kind == CHURN else None

    def dataset(mask: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            X[mask],
            label=y[mask],
            weight=None if weights is None else weights[mask],
            feature_name=schema.names,
            categorical_feature=schema.categorical_indices,
            reference=reference,
            free_raw_data=True,
        )

    train_set = dataset(~val)
    valid_set = dataset(val, reference=train_set)
    if progress:
        progress(f"fitting {kind} model on {int((~val).sum())} rows, validating on {int(val.sum())}")
    started = time.perf_counter()
    booster = lgb.train(
        _lgb_params(kind, params, threads),
        train_set,
        num_boost_round=int(params.loop["num_boost_round"]),
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(int(params.loop["early_stopping_rounds"]), verbose=False)],
    )
    elapsed = time.perf_counter() - started
    best = int(booster.best_iteration or booster.current_iteration())
    offset, scale, calibration = (math.log(w_pos) if kind == CHURN else 0.0), 1.0, {}
    if kind == CHURN and tuning and params.loop.get("calibration", "platt") == "platt":
        # Calibrated on the early-stopping split: rows this booster was not fitted on.
        raw_val = booster.predict(X[val], raw_score=True, num_iteration=best)
        fitted = platt(np.asarray(raw_val, dtype=np.float64), y[val], offset)
        offset, scale, calibration = -fitted.intercept, fitted.slope, fitted.summary()
    model = TrainedModel(
        kind=kind,
        booster=booster,
        schema=schema,
        params=params,
        best_iteration=best,
        logit_offset=offset,
        logit_scale=scale,
        positive_weight=w_pos,
        tuning=tuning,
        calibration=calibration,
        train_rows=int((~val).sum()),
        validation_rows=int(val.sum()),
        positives=int(y.sum()) if kind == CHURN else 0,
        accounts=int(df["customer_id"].nunique()),
        training_seconds=elapsed,
    )
    if kind == VALUE:
        model.value_boundaries = value_boundaries(model.predict(X))
    return model


def _dataset(X: np.ndarray, y: np.ndarray, w_pos: float, schema: FeatureSchema) -> lgb.Dataset:
    """A fresh LightGBM dataset of the rows (positives weighted by `w_pos`)."""
    import lightgbm as lgb  # deferred: loading LightGBM takes a second

    return lgb.Dataset(
        X,
        label=y,
        weight=np.where(y == 1, w_pos, 1.0) if w_pos != 1.0 else None,
        feature_name=schema.names,
        categorical_feature=schema.categorical_indices,
        params={"feature_pre_filter": False},
        free_raw_data=True,
    )


def _tune(
    kind: str,
    X: np.ndarray,
    y: np.ndarray,
    schema: FeatureSchema,
    params: TrainParams,
    folds: Folds,
    progress: ProgressFn | None,
    threads: int | None,
) -> tuple[Tuned, TrainParams]:
    """Cross-validate the candidate sets on these rows; the result and the chosen parameters."""
    w_pos = positive_weight(y, params.loop["scale_pos_weight"]) if kind == CHURN else 1.0
    if progress:
        progress(f"tuning {kind} model: {params.loop['tuning_trials']} parameter sets, {len(folds)}-fold CV")
    tuned = tune(
        kind, lambda: _dataset(X, y, w_pos, schema), X, _lgb_params(kind, params, threads), params, folds, progress
    )
    chosen = TrainParams(lgbm={**params.lgbm, **tuned.trials_overrides()}, loop=dict(params.loop), fixed=params.fixed)
    return tuned, chosen


def _train_tuned(
    kind: str,
    df: pd.DataFrame,
    X: np.ndarray,
    y: np.ndarray,
    schema: FeatureSchema,
    params: TrainParams,
    folds: Folds,
    progress: ProgressFn | None,
    threads: int | None,
) -> TrainedModel:
    """Tune by cross-validation on the training rows, calibrate out of fold, fit on every row."""
    import lightgbm as lgb  # deferred: loading LightGBM takes a second

    started = time.perf_counter()
    tuned, chosen = _tune(kind, X, y, schema, params, folds, progress, threads)
    w_pos = positive_weight(y, params.loop["scale_pos_weight"]) if kind == CHURN else 1.0
    offset, scale, calibration = (math.log(w_pos) if kind == CHURN else 0.0), 1.0, {}
    if kind == CHURN and params.loop.get("calibration", "platt") == "platt":
        fitted = platt(tuned.oof_raw, y, offset)
        offset, scale, calibration = -fitted.intercept, fitted.slope, fitted.summary()
    if progress:
        progress(f"fitting {kind} model on all {len(y)} training rows, {tuned.rounds} rounds")
    booster = lgb.train(_lgb_params(kind, chosen, threads), _dataset(X, y, w_pos, schema), num_boost_round=tuned.rounds)
    model = TrainedModel(
        kind=kind,
        booster=booster,
        schema=schema,
        params=chosen,
        best_iteration=tuned.rounds,
        logit_offset=offset,
        logit_scale=scale,
        positive_weight=w_pos,
        train_rows=len(y),
        validation_rows=0,
        tuning=tuned.summary(),
        calibration=calibration,
        positives=int(y.sum()) if kind == CHURN else 0,
        accounts=int(df["customer_id"].nunique()),
        training_seconds=time.perf_counter() - started,
    )
    if kind == VALUE:
        model.value_boundaries = value_boundaries(model.predict(X))
    return model


def refit_served(
    model: TrainedModel,
    df: pd.DataFrame,
    schema: FeatureSchema,
    progress: ProgressFn | None = None,
    threads: int | None = None,
) -> TrainedModel:
    """The served model: `model`'s parameters and rounds, fitted on every row of `df`.

    No validation split and no early stopping: the number of rounds is the one `model` chose
    (by cross-validation or its early-stopping split; not scaled for the larger set). The
    positive weight, the calibration (or prior correction) and the risk thresholds stay those
    of `model`, so the served scores mean what the evaluated ones meant.
    """
    import lightgbm as lgb  # deferred: loading LightGBM takes a second

    kind, params = model.kind, model.params
    y = df["label"].to_numpy(dtype=np.float64)
    check_trainable(kind, y, len(df))
    X = schema.encode_frame(df)
    w_pos = model.positive_weight if kind == CHURN else 1.0
    full_set = lgb.Dataset(
        X,
        label=y,
        weight=np.where(y == 1, w_pos, 1.0) if kind == CHURN else None,
        feature_name=schema.names,
        categorical_feature=schema.categorical_indices,
        free_raw_data=True,
    )
    rounds = max(1, model.best_iteration)
    if progress:
        progress(f"fitting the served {kind} model on all {len(y)} rows, {rounds} rounds")
    started = time.perf_counter()
    booster = lgb.train(_lgb_params(kind, params, threads), full_set, num_boost_round=rounds)
    served = dataclasses.replace(
        model,
        booster=booster,
        schema=schema,
        best_iteration=rounds,
        served_rows=int(full_set.num_data()),
        positives=int(y.sum()) if kind == CHURN else 0,
        accounts=int(df["customer_id"].nunique()),
        training_seconds=model.training_seconds + time.perf_counter() - started,
        value_boundaries=[],
        _paths=None,
    )
    if kind == VALUE:
        served.value_boundaries = value_boundaries(served.predict(X))
    return served


def train_churn(df: pd.DataFrame, params: TrainParams, progress: ProgressFn | None = None) -> TrainedModel:
    """Fit a binary churn model (see train_model)."""
    return train_model(CHURN, df, params, progress=progress)


def train_value(df: pd.DataFrame, params: TrainParams, progress: ProgressFn | None = None) -> TrainedModel:
    """Fit a future-revenue regression model (see train_model)."""
    return train_model(VALUE, df, params, progress=progress)
