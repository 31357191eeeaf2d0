"""Holdout evaluation of churn and value models, and the simple baselines they must beat.

Metrics are computed from arrays (labels, scores) so the same code evaluates a model, the
champion on a challenger's holdout, a baseline, or a brought table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .bands import BandStats, RiskThresholds, band_stats, holdout_thresholds
from .params import CHURN
from .training import TrainedModel

TOP_SHARE = 0.10


@dataclass(frozen=True)
class CalibrationBin:
    """Holdout rows grouped by predicted probability."""

    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed_rate: float


@dataclass
class ChurnMetrics:
    """Holdout metrics of a churn model (and of the baseline on the same rows)."""

    roc_auc: float
    pr_auc: float
    log_loss: float
    brier: float
    lift_top10: float
    capture_top10: float
    base_rate: float
    calibration: list[CalibrationBin] = field(default_factory=list)
    baseline_roc_auc: float = 0.0
    baseline_lift_top10: float = 0.0
    # Risk-band cut-offs of this model version, set from these holdout predictions
    # (see bands.py), and how each band looked on the holdout.
    band_medium_threshold: float = 0.0
    band_high_threshold: float = 0.0
    bands: list[BandStats] = field(default_factory=list)
    # Whether baseline_* were computed (a brought table has no fee trend; 0 is then "none").
    baseline_computed: bool = False

    def primary(self) -> float:
        """The metric that decides promotion."""
        return self.roc_auc

    def baseline_primary(self) -> float | None:
        """The baseline's value of the primary metric; None when no baseline was computed."""
        return self.baseline_roc_auc if self.baseline_computed else None

    def thresholds(self) -> RiskThresholds:
        """The model's risk-band cut-offs (the fixed fallback when none were stored)."""
        if self.band_high_threshold <= 0:
            return RiskThresholds()
        return RiskThresholds(self.band_medium_threshold, self.band_high_threshold, "holdout_deciles")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the registry."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChurnMetrics:
        """Inverse of to_dict."""
        d = dict(d)
        d["calibration"] = [CalibrationBin(**b) for b in d.get("calibration", [])]
        d["bands"] = [BandStats(**b) for b in d.get("bands", [])]
        return cls(**d)


@dataclass
class ValueMetrics:
    """Holdout metrics of a value model (and of the baseline on the same rows)."""

    mae: float
    rmse: float
    r2: float
    spearman: float
    top_decile_revenue_share: float
    top_decile_revenue_share_ideal: float
    baseline_spearman: float = 0.0

    baseline_computed: bool = False

    def primary(self) -> float:
        """The metric that decides promotion."""
        return self.spearman

    def baseline_primary(self) -> float | None:
        """The baseline's Spearman; None when no baseline was computed."""
        return self.baseline_spearman if self.baseline_computed else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the registry."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValueMetrics:
        """Inverse of to_dict."""
        return cls(**d)


def top_share_mask(scores: np.ndarray, share: float = TOP_SHARE) -> np.ndarray:
    """True for the top `share` of rows by score (at least one row; ties broken stably)."""
    n = len(scores)
    k = max(1, int(round(n * share)))
    order = np.argsort(-scores, kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def lift_and_capture(y: np.ndarray, scores: np.ndarray, share: float = TOP_SHARE) -> tuple[float, float]:
    """Churn rate in the top share over the overall rate, and the share of churners caught."""
    base = float(np.mean(y)) if len(y) else 0.0
    if base == 0:
        return 0.0, 0.0
    top = top_share_mask(scores, share)
    return float(np.mean(y[top]) / base), float(np.sum(y[top]) / np.sum(y))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins of predicted probability with observed rates (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    out: list[CalibrationBin] = []
    for b in range(bins):
        m = idx == b
        if not m.any():
            continue
        out.append(
            CalibrationBin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                count=int(m.sum()),
                mean_predicted=float(p[m].mean()),
                observed_rate=float(y[m].mean()),
            )
        )
    return out


def _safe_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC, or 0.5 when the holdout has a single class."""
    from sklearn.metrics import roc_auc_score  # deferred, like every scikit-learn import here: it loads slowly

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else 0.5


def churn_metrics(y: np.ndarray, p: np.ndarray, baseline: np.ndarray | None = None) -> ChurnMetrics:
    """All churn metrics from labels and predicted probabilities."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss

    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    lift, capture = lift_and_capture(y, p)
    both = 0 < y.sum() < len(y)
    m = ChurnMetrics(
        roc_auc=_safe_auc(y, p),
        pr_auc=float(average_precision_score(y, p)) if both else float(y.mean() if len(y) else 0.0),
        log_loss=float(log_loss(y, p, labels=[0, 1])),
        brier=float(brier_score_loss(y, p)),
        lift_top10=lift,
        capture_top10=capture,
        base_rate=float(y.mean()) if len(y) else 0.0,
        calibration=calibration_table(y, p),
    )
    t = holdout_thresholds(p)
    m.band_medium_threshold, m.band_high_threshold = t.medium, t.high
    m.bands = band_stats(y, p, t)
    if baseline is not None:
        m.baseline_computed = True
        m.baseline_roc_auc = _safe_auc(y, np.asarray(baseline, dtype=np.float64))
        m.baseline_lift_top10 = lift_and_capture(y, np.asarray(baseline, dtype=np.float64))[0]
    return m


def top_decile_share(actual: np.ndarray, pred: np.ndarray) -> float:
    """Share of total actual revenue held by the top decile ranked by `pred`."""
    total = float(np.sum(actual))
    if total <= 0:
        return 0.0
    return float(np.sum(actual[top_share_mask(pred)]) / total)


def value_metrics(actual: np.ndarray, pred: np.ndarray, baseline: np.ndarray | None = None) -> ValueMetrics:
    """All value metrics from actual and predicted future revenue."""
    from scipy.stats import spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    rho = spearmanr(a, p).statistic if len(a) > 2 else 0.0
    m = ValueMetrics(
        mae=float(mean_absolute_error(a, p)),
        rmse=float(np.sqrt(mean_squared_error(a, p))),
        r2=float(r2_score(a, p)) if len(a) > 1 else 0.0,
        spearman=float(0.0 if np.isnan(rho) else rho),
        top_decile_revenue_share=top_decile_share(a, p),
        top_decile_revenue_share_ideal=top_decile_share(a, a),
    )
    if baseline is not None and len(a) > 2:
        m.baseline_computed = True
        b = spearmanr(a, np.asarray(baseline, dtype=np.float64)).statistic
        m.baseline_spearman = float(0.0 if np.isnan(b) else b)
    return m


def evaluate(
    model: TrainedModel, holdout: pd.DataFrame, baseline: np.ndarray | None = None
) -> tuple[ChurnMetrics | ValueMetrics, np.ndarray]:
    """Metrics of a model on a holdout frame (with `label`), and its predictions."""
    pred = model.predict_frame(holdout)
    y = holdout["label"].to_numpy(dtype=np.float64)
    if model.kind == CHURN:
        return churn_metrics(y, pred, baseline), pred
    return value_metrics(y, pred, baseline), pred


def evaluate_churn(model: TrainedModel, holdout: pd.DataFrame, baseline: np.ndarray | None = None) -> ChurnMetrics:
    """Churn metrics of a model on a holdout frame."""
    metrics, _ = evaluate(model, holdout, baseline)
    assert isinstance(metrics, ChurnMetrics)
    return metrics


def evaluate_value(model: TrainedModel, holdout: pd.DataFrame, baseline: np.ndarray | None = None) -> ValueMetrics:
    """Value metrics of a model on a holdout frame."""
    metrics, _ = evaluate(model, holdout, baseline)
    assert isinstance(metrics, ValueMetrics)
    return metrics
