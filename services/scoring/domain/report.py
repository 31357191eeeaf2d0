"""HTML evaluation report of a model: metrics, lineage and plots embedded as base64 PNG.

Churn: ROC and precision-recall curves (model and baseline), lift / cumulative gains,
calibration, feature importance, score distribution by risk band. Value: predicted vs
actual, cumulative revenue captured by rank, feature importance, predicted value by tier.
One self-contained file a person can open in any browser or attach to a mail.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import threading
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .bands import BANDS, TIERS, RiskThresholds, risk_band_codes, value_tier_codes
from .params import CHURN
from .registry import Holdout, ModelRecord

if TYPE_CHECKING:
    from types import ModuleType

# pyplot keeps global state; reports rendered from several threads take turns.
_PLOT_LOCK = threading.Lock()
BAND_COLOURS = {"LOW": "#4caf50", "MEDIUM": "#ff9800", "HIGH": "#e53935"}


@functools.cache
def _pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend, imported on the first report (it loads slowly)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # the backend must be chosen first

    return plt


def _png(fig: Any) -> str:
    """A figure as a base64 PNG data URI (the figure is closed)."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _roc(h: Holdout) -> str:
    from sklearn.metrics import roc_curve  # deferred: scikit-learn loads slowly

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    if 0 < h.y.sum() < len(h.y):
        fpr, tpr, _ = roc_curve(h.y, h.pred)
        ax.plot(fpr, tpr, label="model")
        if len(h.baseline):
            bf, bt, _ = roc_curve(h.y, h.baseline)
            ax.plot(bf, bt, label="baseline (fee trend)", linestyle="--")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    return _png(fig)


def _pr(h: Holdout) -> str:
    from sklearn.metrics import precision_recall_curve  # deferred: scikit-learn loads slowly

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    if 0 < h.y.sum() < len(h.y):
        p, r, _ = precision_recall_curve(h.y, h.pred)
        ax.plot(r, p, label="model")
        if len(h.baseline):
            bp, br, _ = precision_recall_curve(h.y, h.baseline)
            ax.plot(br, bp, label="baseline (fee trend)", linestyle="--")
        ax.axhline(h.y.mean(), color="grey", linewidth=0.8, label="churn rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    ax.legend(loc="upper right")
    return _png(fig)


def _gains(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of accounts contacted (by descending score) vs share of the total captured."""
    order = np.argsort(-score, kind="stable")
    captured = np.cumsum(y[order]) / max(float(y.sum()), 1e-12)
    share = np.arange(1, len(y) + 1) / len(y)
    return np.concatenate([[0], share]), np.concatenate([[0], captured])


def _lift_gains(h: Holdout, value: bool = False) -> str:
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    x, g = _gains(h.y, h.pred)
    a1.plot(x, g, label="model")
    if len(h.baseline):
        bx, bg = _gains(h.y, h.baseline)
        a1.plot(bx, bg, linestyle="--", label="baseline")
    ix, ig = _gains(h.y, h.y)
    a1.plot(ix, ig, color="grey", linewidth=0.8, linestyle=":", label="perfect")
    a1.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    a1.set(
        xlabel="share of accounts (highest score first)",
        ylabel="share of revenue captured" if value else "share of churners captured",
        title="Cumulative gains",
    )
    a1.legend(loc="lower right")
    deciles = np.array_split(np.argsort(-h.pred, kind="stable"), 10)
    base = max(float(h.y.mean()), 1e-12)
    a2.bar(range(1, 11), [float(h.y[d].mean()) / base if len(d) else 0 for d in deciles], color="#1e88e5")
    a2.axhline(1.0, color="grey", linewidth=0.8)
    a2.set(xlabel="decile by score (1 = highest)", ylabel="lift", title="Lift by decile")
    return _png(fig)


def _calibration(metrics: dict[str, Any]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    bins = metrics.get("calibration", [])
    if bins:
        ax.plot([b["mean_predicted"] for b in bins], [b["observed_rate"] for b in bins], marker="o", label="model")
        for b in bins:
            ax.annotate(str(b["count"]), (b["mean_predicted"], b["observed_rate"]), fontsize=7, alpha=0.7)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect")
    ax.set(xlabel="mean predicted probability", ylabel="observed churn rate", title="Calibration (count per bin)")
    ax.legend(loc="upper left")
    return _png(fig)


def _importance(record: ModelRecord, top: int = 20) -> str:
    plt = _pyplot()
    gain = record.importance.get("gain", {})
    items = sorted(gain.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(items) + 1)))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#5e35b1")
    ax.set(xlabel="share of total gain", title="Feature importance (gain)")
    return _png(fig)


def _band_distribution(h: Holdout, t: RiskThresholds) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    codes = risk_band_codes(h.pred, t)
    edges = np.linspace(0, 1, 41)
    for i, band in enumerate(BANDS):
        sel = h.pred[codes == i]
        if len(sel):
            ax.hist(sel, bins=cast(Any, edges), alpha=0.75, color=BAND_COLOURS[band], label=f"{band} ({len(sel)})")
    for cut in (t.medium, t.high):
        ax.axvline(cut, color="black", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    ax.set(xlabel="churn probability", ylabel="accounts (log scale)", title="Score distribution by risk band")
    ax.legend()
    return _png(fig)


def _value_scatter(h: Holdout) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.scatter(h.y / 100, h.pred / 100, s=5, alpha=0.4)
    hi = float(max(h.y.max(initial=1), h.pred.max(initial=1))) / 100
    ax.plot([0, hi], [0, hi], color="grey", linewidth=0.8)
    ax.set(xlabel="actual revenue (yuan)", ylabel="predicted revenue (yuan)", title="Predicted vs actual")
    return _png(fig)


def _tier_distribution(h: Holdout, record: ModelRecord) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    codes = value_tier_codes(h.pred, record.value_boundaries)
    ax.bar(TIERS, [int((codes == i).sum()) for i in range(len(TIERS))], color="#00897b")
    ax.set(ylabel="accounts", title="Holdout accounts by predicted value tier")
    return _png(fig)


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def render_report(record: ModelRecord, generated_at: dt.datetime) -> str:
    """The whole HTML document for a model."""
    with _PLOT_LOCK:
        return _render(record, generated_at)


def _band_text(record: ModelRecord) -> str:
    """The version's band cut-offs and how each band looked on the holdout."""
    t = record.risk_thresholds()
    text = (
        f"<p>Risk bands of this version: HIGH p &ge; {t.high:.3f}, MEDIUM {t.medium:.3f} &le; p &lt; {t.high:.3f}, "
        f"LOW p &lt; {t.medium:.3f}"
    )
    if t.rule != "holdout_deciles":
        return text + " (fixed cut-offs: stored before bands were set from the holdout).</p>"
    rows = "".join(
        f"<li>{html.escape(str(b['band']))}: {b['account_share']:.0%} of holdout accounts, churn rate "
        f"{b['churn_rate']:.1%}, {b['churner_share']:.0%} of churners</li>"
        for b in record.metrics.get("bands", [])
    )
    return text + " (top decile and next two deciles of the holdout's risk).</p><ul>" + rows + "</ul>"


def _render(record: ModelRecord, generated_at: dt.datetime) -> str:
    h = Holdout.from_bytes(record.holdout)
    m = record.metrics
    churn = record.kind == CHURN
    metric_rows = [(k, _fmt(v)) for k, v in m.items() if k not in ("calibration", "bands")]
    lineage_rows = [
        (
            k,
            _fmt(v)
            if not isinstance(v, (list, dict))
            else ", ".join(map(str, v))
            if isinstance(v, list)
            else ", ".join(f"{a}={b}" for a, b in v.items()),
        )
        for k, v in record.lineage.items()
    ]
    if churn:
        plots = [
            ("ROC", _roc(h)),
            ("Precision-recall", _pr(h)),
            ("Lift and gains", _lift_gains(h)),
            ("Calibration", _calibration(m)),
            ("Score distribution by band", _band_distribution(h, record.risk_thresholds())),
            ("Feature importance", _importance(record)),
        ]
        headline = (
            f"ROC-AUC {m.get('roc_auc', 0):.3f} (baseline {m.get('baseline_roc_auc', 0):.3f}), "
            f"top-10 % lift {m.get('lift_top10', 0):.2f}, capture {m.get('capture_top10', 0):.0%}"
        )
    else:
        plots = [
            ("Predicted vs actual", _value_scatter(h)),
            ("Revenue gains", _lift_gains(h, value=True)),
            ("Value tiers", _tier_distribution(h, record)),
            ("Feature importance", _importance(record)),
        ]
        headline = (
            f"Spearman {m.get('spearman', 0):.3f} (baseline {m.get('baseline_spearman', 0):.3f}), "
            f"R² {m.get('r2', 0):.3f}, top decile holds {m.get('top_decile_revenue_share', 0):.0%} of revenue"
        )
    figures = "".join(
        f'<figure><img alt="{html.escape(t)}" src="{src}"><figcaption>{html.escape(t)}</figcaption></figure>'
        for t, src in plots
    )
    title = f"{record.kind} model {record.model_id} (v{record.version}, {record.status})"
    bands = _band_text(record) if churn else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:0.9em}}th{{background:#f5f5f5}}
figure{{display:inline-block;margin:0.5em;vertical-align:top}}figcaption{{text-align:center;font-size:0.85em}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p><strong>{html.escape(headline)}</strong></p>
<p>{html.escape(record.description)}</p>{bands}
<p>Holdout: {len(h.y)} rows. Generated {generated_at:%Y-%m-%d %H:%M} UTC. {html.escape(record.promotion_note)}</p>
<h2>Plots</h2>{figures}
<h2>Holdout metrics</h2>{_table(metric_rows)}
<h2>Lineage</h2>{_table(lineage_rows)}
</body></html>
"""
