"""Matplotlib charts for the HTML summary, returned as base64 PNG data URIs."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

_TIERS = ("diamond", "emerald", "platinum", "sapphire", "gold", "crystal")
_COLOURS = {"low": "#4caf50", "medium": "#ff9800", "high": "#e53935"}


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bar_chart(counts: dict[str, int], title: str, colour: str = "#1565c0", horizontal: bool = False) -> str:
    """A bar chart of labelled counts."""
    labels, values = list(counts), list(counts.values())
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color=colour)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:,}", va="center", fontsize=8)
    else:
        ax.bar(labels, values, color=colour)
        for x, v in enumerate(values):
            ax.text(x, v, f"{v:,}", ha="center", va="bottom", fontsize=8)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def tier_chart(tiers: dict[str, int]) -> str:
    """Accounts per service tier, highest tier first."""
    ordered = {t: tiers.get(t, 0) for t in _TIERS if t in tiers}
    return bar_chart(ordered, "Accounts per service tier (master data)")


def risk_axis_label(medium: float, high: float) -> str:
    """The risk histogram's axis label, naming the band cut-offs drawn on it."""
    return f"churn probability within 3 months (bands: medium ≥ {medium:.3g}, high ≥ {high:.3g})"


def risk_chart(probabilities: list[float], bands: list[str], thresholds: tuple[float, float] | None = None) -> str:
    """Histogram of churn probabilities, stacked by risk band, with the band thresholds.

    `thresholds` are the champion's (medium, high) cut-offs from its holdout (GetModel); without
    them the fixed cut-offs of models stored before per-version bands are drawn.
    """
    medium, high = thresholds or (0.10, 0.30)
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    top = min(1.0, max(0.05, max(probabilities, default=0.0) * 1.05))
    data = [[p for p, b in zip(probabilities, bands, strict=False) if b == band] for band in ("low", "medium", "high")]
    ax.hist(
        data,
        bins=40,
        range=(0, top),
        stacked=True,
        color=[_COLOURS[b] for b in ("low", "medium", "high")],
        label=[f"{b} ({len(d):,})" for b, d in zip(("low", "medium", "high"), data, strict=False)],
    )
    for threshold in (medium, high):
        if threshold < top:
            ax.axvline(threshold, color="#616161", linestyle="--", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(risk_axis_label(medium, high))
    ax.set_ylabel("accounts (log scale)")
    ax.set_title("Churn risk distribution")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def contact_chart(months: list[str], before: list[float], after: list[float]) -> str:
    """Contacts per account per month, standard policy vs the strict draft."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    xs = range(len(months))
    ax.bar([x - 0.2 for x in xs], before, width=0.4, color="#90a4ae", label="recorded (standard policy)")
    ax.bar([x + 0.2 for x in xs], after, width=0.4, color="#1565c0", label="under the strict draft")
    ax.set_xticks(list(xs), months)
    ax.set_ylabel("contacts per contacted account")
    ax.set_title("Contact frequency before / after the policy")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def lifetime_value_chart(values_fen: list[float]) -> str:
    """Histogram of lifetime values (¥10k), loss-making accounts in red."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    wan = [v / 100 / 10_000 for v in values_fen]
    low, high = min(wan, default=0.0), max(wan, default=1.0)
    bins = 40
    losses = [v for v in wan if v < 0]
    gains = [v for v in wan if v >= 0]
    ax.hist(
        [gains, losses],
        bins=bins,
        range=(min(low, 0.0), max(high, 1e-9)),
        stacked=True,
        color=["#1565c0", "#e53935"],
        label=[f"≥ 0 ({len(gains):,})", f"loss-making ({len(losses):,})"],
    )
    ax.set_yscale("log")
    ax.set_xlabel("lifetime value: expected discounted margin, ¥10k")
    ax.set_ylabel("accounts (log scale)")
    ax.set_title("Customer lifetime value")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
