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
    reports: list[pathlib.Path] = field(default_factory=list)
    summary_path: pathlib.Path | None = None
