"""Parameter tuning by cross-validation inside the training rows, and churn calibration.

`tune` tries `tuning_trials` parameter sets: the defaults, a small portfolio (boosted
stumps, small regularised trees), then seeded random draws (scikit-learn's
ParameterSampler), each over the parameters the request did not fix. Each
set is scored by `lgb.cv` on folds of the training rows only, with early stopping, so the
search chooses the parameters *and* the number of rounds without ever seeing the holdout.
Folds keep every row of one account on one side (profile training stacks cut-offs of the
same account) and, for churn, keep the class balance (StratifiedGroupKFold). The chosen
set's out-of-fold raw scores are returned for calibration.

`platt` fits Platt scaling, p = sigmoid(slope * raw + intercept), on those out-of-fold
scores: the same recipe as scikit-learn's CalibratedClassifierCV(ensemble=False) — the
calibrator learns from scores of models that did not see the rows, and is then applied to
the model refitted on all of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .params import CHURN, TrainParams

if TYPE_CHECKING:
    import lightgbm as lgb

Folds = list[tuple[np.ndarray, np.ndarray]]

#: Tried right after the defaults: boosted stumps (an additive model, which is what a churn
#: table driven by separate contract facts needs, where a logistic regression does well)
#: and small, strongly regularised trees. Names the request fixed are left out of each.
PORTFOLIO: tuple[dict[str, Any], ...] = (
    {"num_leaves": 2, "learning_rate": 0.1, "min_data_in_leaf": 20, "feature_fraction": 0.8},
    {"num_leaves": 5, "learning_rate": 0.05, "min_data_in_leaf": 80, "lambda_l2": 10.0},
)
#: Where the random draws look after the portfolio.
SEARCH_SPACE: dict[str, Any] = {
    "learning_rate": ("loguniform", 0.01, 0.15),
    "num_leaves": [3, 4, 7, 11, 15, 23, 31, 47, 63],
    "min_data_in_leaf": [5, 10, 20, 40, 80, 160],
    "feature_fraction": ("uniform", 0.4, 1.0),
    "bagging_fraction": ("uniform", 0.6, 1.0),
    "lambda_l2": ("loguniform", 1e-3, 50.0),
    "cat_smooth": [1.0, 10.0, 50.0],
}


@dataclass
class Tuned:
    """The chosen parameters, their rounds and cross-validated loss, and every trial."""

    lgbm: dict[str, Any]
    rounds: int
    cv_loss: float
    default_cv_loss: float
    folds: int
    metric: str
    oof_raw: np.ndarray
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def trials_overrides(self) -> dict[str, Any]:
        """The chosen trial's overrides of the parameters as given ({}: the defaults won)."""
        return next((dict(t["overrides"]) for t in self.trials if t["chosen"]), {})

    def summary(self) -> dict[str, Any]:
        """What lineage keeps (no arrays)."""
        chosen = self.trials_overrides()
        return {
            "folds": self.folds,
            "trials": len(self.trials),
            "metric": self.metric,
            "cv_loss": round(self.cv_loss, 6),
            "default_cv_loss": round(self.default_cv_loss, 6),
            "rounds": self.rounds,
            "chosen": {k: _plain(v) for k, v in chosen.items()},
            "seconds": round(self.seconds, 3),
        }


def _plain(v: Any) -> Any:
    return round(float(v), 6) if isinstance(v, float | np.floating) else int(v) if isinstance(v, np.integer) else v


def make_folds(kind: str, y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> Folds:
    """k folds of the rows, by account; stratified on the label for churn.

    Fewer folds when the data cannot fill k (fewer accounts, or fewer positives, than k).
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    _, codes = np.unique(groups, return_inverse=True)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    k = min(k, n_groups)
    if kind == CHURN:
        positives = len(np.unique(codes[y == 1]))
        negatives = len(np.unique(codes[y == 0]))
        k = min(k, positives, negatives)
    if k < 2:
        return []
    splitter: Any = (
        StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed % 2**32)
        if kind == CHURN
        else GroupKFold(n_splits=k, shuffle=True, random_state=seed % 2**32)
    )
    label = (y == 1).astype(int) if kind == CHURN else np.zeros(len(y), dtype=int)
    return [(np.asarray(a), np.asarray(b)) for a, b in splitter.split(np.zeros(len(y)), label, codes)]


def candidates(params: TrainParams, trials: int, seed: int) -> list[dict[str, Any]]:
    """Overrides to try: {} (the parameters as given) first, the portfolio, then seeded random draws."""
    from scipy.stats import loguniform, uniform
    from sklearn.model_selection import ParameterSampler

    space: dict[str, Any] = {}
    for name, spec in SEARCH_SPACE.items():
        if name in params.fixed:
            continue
        if isinstance(spec, list):
            space[name] = spec
        elif spec[0] == "loguniform":
            space[name] = loguniform(spec[1], spec[2])
        else:
            space[name] = uniform(spec[1], spec[2] - spec[1])
    out: list[dict[str, Any]] = [{}]
    for preset in PORTFOLIO:
        kept = {k: v for k, v in preset.items() if k not in params.fixed}
        if kept and kept not in out:
            out.append(kept)
    draws = trials - len(out)
    if space and draws > 0:
        out += [dict(d) for d in ParameterSampler(space, n_iter=draws, random_state=seed % 2**32)]
    return out[: max(1, trials)]


def tune(
    kind: str,
    dataset: Callable[[], lgb.Dataset],
    X: np.ndarray,
    base: dict[str, Any],
    params: TrainParams,
    folds: Folds,
    progress: Callable[[str], None] | None = None,
) -> Tuned:
    """Cross-validate every candidate on `folds` of the training rows; the lowest mean loss wins.

    `dataset()` builds a fresh LightGBM dataset of the training rows (a constructed dataset
    keeps the binning of the parameters it was built with); `base` is the full LightGBM
    parameter dict of the parameters as given.
    """
    import lightgbm as lgb  # deferred: loading LightGBM takes a second

    started = time.perf_counter()
    seed = int(params.lgbm.get("seed", 17))
    tried = candidates(params, int(params.loop["tuning_trials"]), seed)
    rounds_max = int(params.loop["num_boost_round"])
    patience = int(params.loop["early_stopping_rounds"])
    metric = str(base.get("metric", "l2"))
    best: tuple[float, int, int, Any] | None = None
    trials: list[dict[str, Any]] = []
    for i, overrides in enumerate(tried):
        trial = {**base, **overrides, "feature_pre_filter": False}
        result = lgb.cv(
            trial,
            dataset(),
            num_boost_round=rounds_max,
            folds=folds,
            callbacks=[lgb.early_stopping(patience, verbose=False)],
            return_cvbooster=True,
        )
        curve = cast(list[float], next(v for k, v in result.items() if k.endswith(f"{metric}-mean")))
        loss, rounds = float(curve[-1]), len(curve)
        if not math.isfinite(loss):
            loss = math.inf
        trials.append({"overrides": overrides, "loss": loss, "rounds": rounds, "chosen": False})
        if best is None or loss < best[0]:
            best = (loss, rounds, i, result["cvbooster"])
        if progress:
            progress(f"tuning {kind}: trial {i + 1}/{len(tried)}, {metric} {loss:.5f} at {rounds} rounds")
    assert best is not None
    loss, rounds, index, cvbooster = best
    trials[index]["chosen"] = True
    oof = np.zeros(len(X), dtype=np.float64)
    for booster, (_, valid) in zip(cvbooster.boosters, folds, strict=True):
        oof[valid] = booster.predict(X[valid], raw_score=True, num_iteration=rounds)
    return Tuned(
        lgbm={**base, **tried[index]},
        rounds=max(1, rounds),
        cv_loss=loss,
        default_cv_loss=trials[0]["loss"],
        folds=len(folds),
        metric=metric,
        oof_raw=oof,
        trials=trials,
        seconds=time.perf_counter() - started,
    )


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary log loss (probabilities clipped away from 0 and 1)."""
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of raw scores: p = sigmoid(slope * raw + intercept), with its evidence."""

    slope: float
    intercept: float
    method: str
    oof_log_loss_before: float
    oof_log_loss_after: float

    def summary(self) -> dict[str, Any]:
        """What lineage keeps."""
        return {
            "method": self.method,
            "slope": round(self.slope, 6),
            "intercept": round(self.intercept, 6),
            "oof_log_loss_before": round(self.oof_log_loss_before, 6),
            "oof_log_loss_after": round(self.oof_log_loss_after, 6),
        }


def platt(raw: np.ndarray, y: np.ndarray, prior_offset: float) -> Calibration:
    """Platt scaling fitted on out-of-fold raw scores; kept only where it lowers their log loss.

    Without it the probability is the prior-corrected sigmoid(raw - prior_offset) (the
    positive-class weight undone), which is what "before" measures.
    """
    from sklearn.linear_model import LogisticRegression

    before = log_loss(y, sigmoid(raw - prior_offset))
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y.astype(int))
    slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    after = log_loss(y, sigmoid(slope * raw + intercept))
    if not (math.isfinite(slope) and math.isfinite(intercept) and slope > 0 and after < before):
        return Calibration(1.0, -prior_offset, "prior", before, before)
    return Calibration(slope, intercept, "platt", before, after)
