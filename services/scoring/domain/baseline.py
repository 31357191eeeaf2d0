"""Simple baselines a model must beat on the same holdout.

Churn: the account's last-3-month total-fee trend alone (the faster the fall, the higher
the risk) — the operators' own fee-drop early warning. Value: trailing revenue (the last
12 months' fees, or the 3-month average or last month scaled to a year when that is all
there is). Feature names are found by pattern so the baselines follow profile's names.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

FEE_TREND = [
    re.compile(r"^fee_total_3v3_pct$"),
    re.compile(r"^fee_total_(?:pct_)?change_3m(?:_pct)?$"),
    re.compile(r"^fee_total_trend_3m(?:_pct)?$"),
    re.compile(r"^fee_total_ratio_3m$"),
]
TRAILING_REVENUE = [
    (re.compile(r"^fee_total_(?:sum|total)_12m(?:_fen)?$"), 1.0),
    (re.compile(r"^fee_total_avg_3m(?:_fen)?$"), 12.0),
    (re.compile(r"^fee_total_last_month(?:_fen)?$"), 12.0),
]


def find_column(columns: list[str] | pd.Index, patterns: list[re.Pattern[str]]) -> str | None:
    """First column matching any pattern, patterns in priority order."""
    for p in patterns:
        for c in columns:
            if p.match(str(c)):
                return str(c)
    return None


def churn_baseline(frame: pd.DataFrame) -> np.ndarray | None:
    """Baseline churn score per row (higher = riskier), or None without a fee trend."""
    col = find_column(frame.columns, FEE_TREND)
    if col is None:
        return None
    trend = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    # An account with no trend yet (new, or no bill 3 months ago) ranks in the middle.
    return -np.nan_to_num(trend, nan=0.0)


def value_baseline(frame: pd.DataFrame, horizon_months: int = 12) -> np.ndarray | None:
    """Baseline future revenue per row, scaled to the horizon, or None without fees."""
    for pattern, to_year in TRAILING_REVENUE:
        col = find_column(frame.columns, [pattern])
        if col is not None:
            yearly = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64) * to_year
            return np.nan_to_num(yearly, nan=0.0) * horizon_months / 12.0
    return None
