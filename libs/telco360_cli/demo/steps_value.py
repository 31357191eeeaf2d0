"""Demo step: value beyond revenue (issue #19) — profitability, lifetime value, RFM, clusters, outliers.

Everything is read back through profile, where a CRM client sees it: the features scoring's
base analytics published with the scores, the profitability tags profile computes from cost
records, and each flagged account's reasons in its Customer360.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from telco360.profile.v1 import profile_pb2
from telco360_cli import fmt
from telco360_cli.commands.profile import query_segment
from telco360_cli.console import console
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients

ANALYTICS = ["clv_fen", "clv_tier", "rfm_segment", "cluster", "cluster_name", "outlier_flagged", "outlier_score"]
#: Profile's margin features when it holds cost records (shown when the schema has them).
MARGIN = ["margin_12m_fen", "cost_12m_fen"]
SHOWN_OUTLIERS = 8


@dataclass
class ValueSummary:
    """What the demo shows of value analytics."""

    clv_fen: list[float] = field(default_factory=list)
    clv_tiers: dict[str, int] = field(default_factory=dict)
    rfm_segments: dict[str, int] = field(default_factory=dict)
    #: label -> (name in words, accounts, mean lifetime value fen).
    clusters: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    #: (customer_id, name, outlier score, reasons).
    outliers: list[tuple[str, str, float, list[str]]] = field(default_factory=list)
    flagged: int = 0
    #: Accounts with a measured margin, and their margin and fee over the costed months of 12 (fen).
    margin_accounts: int = 0
    margin_12m_fen: float = 0.0
    fee_12m_fen: float = 0.0
    #: Planted anomalies of the generated base: (planted, flagged among them) when known.
    planted: tuple[int, int] | None = None


async def value_analytics(state: DemoState, clients: Clients) -> None:
    """Collect the base's value analytics from profile and print the highlights."""
    schema = await clients.profile.GetFeatureSchema(profile_pb2.GetFeatureSchemaRequest())
    known = {spec.name for spec in schema.features}
    names = [n for n in ANALYTICS + MARGIN if n in known]
    _, members = await query_segment(clients, "", names, 10**9)
    summary = ValueSummary()
    clusters: dict[str, list[float]] = {}
    cluster_names: dict[str, str] = {}
    tiers: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    flagged: list[tuple[float, str, str]] = []
    for m in members:
        f = m.features
        if "clv_fen" in f:
            summary.clv_fen.append(fmt.attr_number(f["clv_fen"]))
        if "clv_tier" in f:
            tiers[str(fmt.attr_py(f["clv_tier"]))] += 1
        if "rfm_segment" in f:
            segments[str(fmt.attr_py(f["rfm_segment"]))] += 1
        if "cluster" in f:
            label = str(fmt.attr_py(f["cluster"]))
            clusters.setdefault(label, []).append(fmt.attr_number(f["clv_fen"]) if "clv_fen" in f else 0.0)
            if "cluster_name" in f:
                cluster_names[label] = str(fmt.attr_py(f["cluster_name"]))
        if "outlier_flagged" in f and fmt.attr_py(f["outlier_flagged"]) is True:
            score = fmt.attr_number(f["outlier_score"]) if "outlier_score" in f else 0.0
            flagged.append((score, m.customer_id, m.name))
        if "margin_12m_fen" in f and "cost_12m_fen" in f:
            # Fee of the costed months = margin + cost (months without a cost record have no margin).
            margin = fmt.attr_number(f["margin_12m_fen"])
            summary.margin_accounts += 1
            summary.margin_12m_fen += margin
            summary.fee_12m_fen += margin + fmt.attr_number(f["cost_12m_fen"])
    if not summary.clv_fen or not clusters or not segments:
        raise CliError("profile holds no lifetime values, clusters or RFM segments after batch scoring")
    summary.clv_tiers = dict(tiers.most_common())
    summary.rfm_segments = dict(segments.most_common())
    summary.clusters = {
        label: (cluster_names.get(label, ""), len(values), sum(values) / len(values))
        for label, values in sorted(clusters.items(), key=lambda kv: -len(kv[1]))
    }
    summary.flagged = len(flagged)
    for score, cid, name in sorted(flagged, reverse=True)[:SHOWN_OUTLIERS]:
        view = await clients.profile.GetCustomer360(profile_pb2.GetCustomer360Request(customer_id=cid))
        summary.outliers.append((cid, name, score, list(view.score.analytics.outlier.reasons)))
    summary.planted = _planted(state, {cid for _, cid, _ in flagged})
    state.value = summary
    _print(summary)
    state.headline["lifetime value"] = f"{fmt.yuan_short(sum(summary.clv_fen))} over the base; " + ", ".join(
        f"{t} {n:,}" for t, n in summary.clv_tiers.items()
    )
    state.headline["clusters"] = f"{len(summary.clusters)}: " + "; ".join(
        f"{label} {name} ({n:,})" for label, (name, n, _) in summary.clusters.items()
    )
    state.headline["outliers flagged"] = f"{summary.flagged:,}" + (
        f" (planted anomalies found: {summary.planted[1]:,} of {summary.planted[0]:,})" if summary.planted else ""
    )


def _planted(state: DemoState, flagged: set[str]) -> tuple[int, int] | None:
    """How many of the generator's planted anomalies were flagged (None when it planted none)."""
    truth = getattr(getattr(state.base, "truth", None), "anomalies", None)
    if not truth:
        return None
    planted = set(truth)
    return len(planted), len(planted & flagged)


def _print(summary: ValueSummary) -> None:
    if summary.margin_accounts:
        rate = summary.margin_12m_fen / summary.fee_12m_fen if summary.fee_12m_fen else 0.0
        console.print(
            f"margin over 12 months: {fmt.yuan_short(summary.margin_12m_fen)} on "
            f"{fmt.yuan_short(summary.fee_12m_fen)} of fees ({fmt.percent(rate)}), "
            f"{summary.margin_accounts:,} accounts",
            highlight=False,
        )
    console.print("lifetime value tiers: " + ", ".join(f"{t} {n:,}" for t, n in summary.clv_tiers.items()))
    console.print("RFM segments: " + ", ".join(f"{s} {n:,}" for s, n in summary.rfm_segments.items()))
    for label, (name, n, mean) in summary.clusters.items():
        console.print(f"  cluster {label} ({n:,} accounts, mean CLV {fmt.yuan_short(mean)}): {name}", highlight=False)
    console.print(f"outliers flagged: {summary.flagged:,}")
    for cid, name, score, reasons in summary.outliers[:3]:
        console.print(f"  {cid} {name} ({score:.2f}): " + "; ".join(reasons), highlight=False)
