"""The one-page HTML summary of a demo run (plots embedded as base64 PNG)."""

from __future__ import annotations

import datetime as dt
import html
import pathlib

from telco360_cli import fmt
from telco360_cli.demo import plots
from telco360_cli.demo.state import DemoState

TITLE = "Telco360 key-account summary"
_STYLE = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#212121;max-width:1250px}
h1{color:#0d47a1;margin-bottom:0}h2{color:#1565c0;border-bottom:1px solid #bbdefb;padding-bottom:4px}
.sub{color:#616161;margin-top:4px}.grid{display:flex;flex-wrap:wrap;gap:18px}
.card{border:1px solid #e0e0e0;border-radius:6px;padding:10px 14px;background:#fafafa}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e0e0e0;padding:4px 8px;text-align:left}
th{background:#e3f2fd}.num{text-align:right}img{max-width:600px}
"""


def _table(headers: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers) if any(headers) else ""
    head = f"<tr>{head}</tr>" if head else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{html.escape(v)}</td>" if i in numeric else f"<td>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def render(state: DemoState) -> str:
    """The summary page as an HTML string."""
    o = state.options
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{TITLE}</title><style>{_STYLE}</style>"
        f"</head><body><h1>{TITLE}</h1>",
        f"<p class='sub'>{o.accounts:,} generated key accounts × {o.months} months (seed {o.seed}), "
        f"generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
        "<h2>Headline</h2>",
        _table(["", ""], [[k, v] for k, v in state.headline.items()]),
    ]
    parts.append(
        "<h2>Accounts per tier and tag</h2>"
        f"<p class='sub'>Three tier notions share the six names and can disagree on one account: "
        f"the <b>{fmt.SERVICE_TIER}</b> ({fmt.SERVICE_TIER_HINT}), the <b>{fmt.VALUE_TIER}</b> tags "
        f"({fmt.VALUE_TIER_HINT}) and the <b>{fmt.PREDICTED_TIER}</b> ({fmt.PREDICTED_TIER_HINT}).</p>"
        "<div class='grid'>"
    )
    parts.append(f"<div class='card'><img alt='tiers' src='{plots.tier_chart(state.tier_counts)}'></div>")
    tags = {name: n for name, n in sorted(state.tag_counts.values(), key=lambda x: -x[1])}
    parts.append(
        f"<div class='card'><img alt='tags' src='{plots.bar_chart(tags, 'Accounts per tag', '#00897b', True)}'>"
        "</div></div>"
    )
    if state.segments:
        parts.append(
            "<h3>Segments</h3>"
            + _table(["segment", "expression", "accounts"], [[t, e, f"{n:,}"] for t, e, n in state.segments], {2})
        )
    if state.scores:
        probs = [s[0] for s in state.scores.values()]
        bands = [s[1] for s in state.scores.values()]
        churn = state.models.get("churn")
        cuts = churn.churn_metrics if churn is not None and churn.HasField("churn_metrics") else None
        thresholds = (
            (cuts.band_medium_threshold, cuts.band_high_threshold) if cuts and cuts.band_high_threshold else None
        )
        parts.append(
            "<h2>Churn risk</h2><div class='grid'>"
            f"<div class='card'><img alt='risk' src='{plots.risk_chart(probs, bands, thresholds)}'></div></div>"
        )
    if state.at_risk:
        rows = []
        for s in state.at_risk:
            name = state.scores.get(s.customer_id, (0, "", 0, "", ""))[4]
            rows.append(
                [
                    s.customer_id,
                    name,
                    state.scores.get(s.customer_id, (0.0, "", 0, "", ""))[3],
                    fmt.percent(s.churn_probability),
                    fmt.yuan_short(s.predicted_value_fen),
                    "; ".join(r.phrase for r in s.churn_reasons),
                ]
            )
        parts.append(
            "<h2>Top at-risk valuable accounts</h2>"
            + _table(["account", "name", "service tier", "churn risk", "predicted value", "why"], rows, {3, 4})
        )
    if state.value is not None:
        parts.append(_value_section(state.value))
    if state.nbo_calls:
        rows = [
            [
                call["customer_id"],
                ", ".join(call["offers"]) or "(none)",
                "; ".join(f"{oid}: {reason}" for oid, reason, _ in call["suppressed"]),
                call["note"],
            ]
            for call in state.nbo_calls
        ]
        parts.append(
            "<h2>Next-best-offers on inbound calls</h2>"
            + _table(["account", "offers, best first", "suppressed", "note"], rows)
        )
    sim = state.simulation
    if sim is not None and sim.months:
        months = [m.month for m in sim.months]
        chart = plots.contact_chart(
            months, [m.per_account_before for m in sim.months], [m.per_account_after for m in sim.months]
        )
        rules = _table(
            ["rule", "contacts suppressed"], [[r.rule_id, f"{r.count:,}"] for r in sim.suppressed_by_rule], {1}
        )
        parts.append(
            "<h2>Contact frequency before / after the strict policy</h2><div class='grid'>"
            f"<div class='card'><img alt='contacts' src='{chart}'></div><div class='card'>"
            f"<p>{sim.contacts_replayed:,} contacts replayed, {sim.contacts_suppressed:,} suppressed; "
            f"per account per month {sim.per_account_month_before:.2f} → {sim.per_account_month_after:.2f}"
            f"</p>{rules}</div></div>"
        )
    if state.campaign is not None:
        parts.append(_campaign_section(state.campaign))
    if state.reports:
        parts.append(
            "<h2>Model evaluation reports</h2><ul>"
            + "".join(f"<li><a href='{html.escape(p.name)}'>{html.escape(p.name)}</a></li>" for p in state.reports)
            + "</ul>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def _value_section(v) -> str:
    """Value beyond revenue: margin, lifetime value, RFM segments, clusters and outliers (steps_value)."""
    out = ["<h2>Value beyond revenue</h2>"]
    if v.margin_accounts:
        rate = v.margin_12m_fen / v.fee_12m_fen if v.fee_12m_fen else 0.0
        out.append(
            f"<p>Margin over the last 12 months: <b>{html.escape(fmt.yuan_short(v.margin_12m_fen))}</b> on "
            f"{html.escape(fmt.yuan_short(v.fee_12m_fen))} of fees ({fmt.percent(rate)}) across "
            f"{v.margin_accounts:,} accounts with cost records; profitability tiers are among the tags above.</p>"
        )
    out.append(
        "<div class='grid'>"
        f"<div class='card'><img alt='lifetime value' src='{plots.lifetime_value_chart(v.clv_fen)}'></div>"
        f"<div class='card'><img alt='rfm' src='{plots.bar_chart(v.rfm_segments, 'RFM segments', '#6a1b9a', True)}'>"
        "</div></div>"
    )
    out.append(
        "<h3>Clusters (k-means; labels stay the same across runs while a cluster persists)</h3>"
        + _table(
            ["cluster", "what distinguishes it", "accounts", "mean lifetime value"],
            [[label, name, f"{n:,}", fmt.yuan_short(mean)] for label, (name, n, mean) in v.clusters.items()],
            {2, 3},
        )
    )
    planted = ""
    if v.planted:
        planted = f" The generator planted {v.planted[0]:,} anomalies; {v.planted[1]:,} of them are flagged."
    out.append(
        f"<h3>Outliers to review ({v.flagged:,} flagged)</h3><p class='sub'>Isolation forest over billing, "
        f"usage, payment and subscription behaviour plus fraud rules; a reviewer's dismissal is remembered."
        f"{html.escape(planted)}</p>"
        + _table(
            ["account", "name", "score", "why"],
            [[cid, name, f"{score:.2f}", "; ".join(reasons)] for cid, name, score, reasons in v.outliers],
            {2},
        )
    )
    return "".join(out)


def _campaign_section(m) -> str:
    """The campaign's treated-vs-control figures (GetCampaignMetrics)."""
    treated_rate = m.accepted / m.treatment_accounts if m.treatment_accounts else 0.0
    control_rate = m.control_accepted / m.control_accounts if m.control_accounts else 0.0
    rows = [
        ["treated (offer made on the call)", f"{m.treatment_accounts:,}", f"{m.accepted:,}", fmt.percent(treated_rate)],
        ["control group (no offer)", f"{m.control_accounts:,}", f"{m.control_accepted:,}", fmt.percent(control_rate)],
    ]
    suppressed = "; ".join(f"{i.label}: {i.count:,}" for i in m.suppressed_by_reason) or "none"
    return (
        f"<h2>Campaign {html.escape(m.campaign_id)}: uplift against the control group</h2><div class='card'>"
        + _table(["group", "accounts", "accepted", "acceptance rate"], rows, {1, 2, 3})
        + f"<p>Uplift <b>{m.uplift * 100:+.1f} points</b>; {m.accounts_contacted:,} accounts contacted with "
        f"{m.contacts:,} contacts (conversion {fmt.percent(m.conversion_rate)}); suppressed: "
        f"{html.escape(suppressed)}; cost {html.escape(fmt.yuan_short(m.cost_fen))}, value "
        f"{html.escape(fmt.yuan_short(m.value_fen))}. Customers' answers are simulated by the demo.</p></div>"
    )


def write(state: DemoState) -> pathlib.Path:
    """Write the summary to out/summary.html and return its path."""
    path = state.out_dir / "summary.html"
    path.write_text(render(state), encoding="utf-8")
    return path
