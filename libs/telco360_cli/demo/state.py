"""What the demo learns along the way (counts, metrics, scores), for the printed and HTML summary."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

from telco360_cli.processes import LocalSuite


@dataclass
class DemoState:
    """Shared between the steps of one demo run."""

    options: Any
    suite: LocalSuite
    out_dir: pathlib.Path
    base: Any = None
    end_month: str = "2026-10"
    timings: list[tuple[str, float]] = field(default_factory=list)
    #: Headline figures printed at the end and shown in the HTML summary (label -> text).
    headline: dict[str, str] = field(default_factory=dict)
    ingest: dict[str, int] = field(default_factory=dict)
    tier_counts: dict[str, int] = field(default_factory=dict)
    tag_counts: dict[str, tuple[str, int]] = field(default_factory=dict)
    segments: list[tuple[str, str, int]] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)
    #: customer_id -> (churn probability, risk band, predicted value fen, tier, name).
    scores: dict[str, tuple[float, str, int, str, str]] = field(default_factory=dict)
    at_risk: list[Any] = field(default_factory=list)
    nbo_calls: list[dict[str, Any]] = field(default_factory=list)
    simulation: Any = None
    #: The campaign's GetCampaignMetrics answer.
    campaign: Any = None
    #: Value analytics read back from profile (steps_value.ValueSummary).
    value: Any = None
    reports: list[pathlib.Path] = field(default_factory=list)
    summary_path: pathlib.Path | None = None


def result_record(state: DemoState, status: int, failed_step: str, wall_seconds: float) -> dict[str, Any]:
    """A machine-readable record of the run (written to out/demo-result.json for tests and CI)."""
    models = {}
    for kind, model in state.models.items():
        if model.HasField("churn_metrics"):
            m = model.churn_metrics
            models[kind] = {
                "model_id": model.model_id,
                "roc_auc": m.roc_auc,
                "baseline_roc_auc": m.baseline_roc_auc,
                "pr_auc": m.pr_auc,
                "lift_top10": m.lift_top10,
                "base_rate": m.base_rate,
            }
        else:
            m = model.value_metrics
            models[kind] = {
                "model_id": model.model_id,
                "spearman": m.spearman,
                "baseline_spearman": m.baseline_spearman,
                "r2": m.r2,
                "mae": m.mae,
            }
    sim = state.simulation
    return {
        "status": status,
        "failed_step": failed_step,
        "wall_seconds": round(wall_seconds, 1),
        "accounts": state.options.accounts,
        "months": state.options.months,
        "ingest": state.ingest,
        "tier_counts": state.tier_counts,
        "tag_counts": {tag: n for tag, (_, n) in state.tag_counts.items()},
        "segments": [{"title": t, "expression": e, "count": n} for t, e, n in state.segments],
        "models": models,
        "scored_accounts": len(state.scores),
        "risk_bands": {b: sum(1 for s in state.scores.values() if s[1] == b) for b in ("low", "medium", "high")},
        "nbo_calls": state.nbo_calls,
        "simulation": None
        if sim is None
        else {
            "contacts_replayed": sim.contacts_replayed,
            "contacts_suppressed": sim.contacts_suppressed,
            "per_account_month_before": sim.per_account_month_before,
            "per_account_month_after": sim.per_account_month_after,
        },
        "campaign": None
        if state.campaign is None
        else {
            "campaign_id": state.campaign.campaign_id,
            "treatment_accounts": state.campaign.treatment_accounts,
            "control_accounts": state.campaign.control_accounts,
            "accounts_contacted": state.campaign.accounts_contacted,
            "accepted": state.campaign.accepted,
            "control_accepted": state.campaign.control_accepted,
            "conversion_rate": state.campaign.conversion_rate,
            "uplift": state.campaign.uplift,
        },
        "value": None
        if state.value is None
        else {
            "lifetime_values": len(state.value.clv_fen),
            "clv_tiers": state.value.clv_tiers,
            "rfm_segments": state.value.rfm_segments,
            "clusters": {label: {"name": c[0], "accounts": c[1]} for label, c in state.value.clusters.items()},
            "outliers_flagged": state.value.flagged,
            "planted_anomalies": None if state.value.planted is None else list(state.value.planted),
            "margin_accounts": state.value.margin_accounts,
        },
        "reports": [str(p) for p in state.reports],
        "summary": str(state.summary_path) if state.summary_path else "",
        "headline": state.headline,
        "timings": state.timings,
    }
