"""Risk bands from churn probabilities and value tiers from predicted value.

Risk bands are set per churn model version from its time-based holdout (documented in
scoring.proto): HIGH is the model's top decile of risk on the holdout (p at or above the
holdout's 90th percentile), MEDIUM the next two deciles (p at or above the 70th
percentile), LOW the rest. Fixed probability cut-offs do not fit key accounts: with a
base churn rate of a few percent a quarter, a well-calibrated model rarely says 30 %, so
every account fell into LOW. An operator plans retention work by list size and catch
rate instead: HIGH is the same top decile whose lift and capture the model reports, a
list the account managers can work this month. The thresholds are probabilities stored
with the model version, so the band shares of today's base drift from 10 / 20 / 70 %
when the base's risk moves; that drift is the signal. Models without stored thresholds
(trained before this rule) fall back to the old fixed cut-offs, 0.30 and 0.10.

Value tiers use the value model's own cut points on its training predictions (top 2 %
diamond, next 5 % emerald, next 10 % platinum, next 18 % sapphire, next 25 % gold, the
rest crystal), so the tiers stay meaningful whatever the currency scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Fallback cut-offs for models stored without holdout thresholds.
HIGH_THRESHOLD = 0.30
MEDIUM_THRESHOLD = 0.10
# Shares of the holdout that define the bands: top 10 % HIGH, next 20 % MEDIUM.
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20

# Names match telco360.common.v1.RiskBand / AccountTier without their prefixes.
BAND_LOW = "LOW"
BAND_MEDIUM = "MEDIUM"
BAND_HIGH = "HIGH"
BANDS = (BAND_LOW, BAND_MEDIUM, BAND_HIGH)
TIERS = ("DIAMOND", "EMERALD", "PLATINUM", "SAPPHIRE", "GOLD", "CRYSTAL")


@dataclass(frozen=True)
class RiskThresholds:
    """Probability cut-offs of the risk bands of one churn model version."""

    medium: float = MEDIUM_THRESHOLD
    high: float = HIGH_THRESHOLD
    rule: str = "fixed"


@dataclass(frozen=True)
class BandStats:
    """How a band looked on the holdout: its share of accounts and of churners."""

    band: str
    lower: float
    upper: float
    accounts: int
    account_share: float
    churn_rate: float
    churner_share: float


def holdout_thresholds(p: np.ndarray) -> RiskThresholds:
    """Band cut-offs from a model's holdout predictions (top decile HIGH, next 20 % MEDIUM)."""
    if len(p) == 0:
        return RiskThresholds()
    high = float(np.quantile(p, 1.0 - HIGH_SHARE))
    medium = min(float(np.quantile(p, 1.0 - HIGH_SHARE - MEDIUM_SHARE)), high)
    return RiskThresholds(medium=medium, high=high, rule="holdout_deciles")


def band_stats(y: np.ndarray, p: np.ndarray, t: RiskThresholds) -> list[BandStats]:
    """Share of accounts, churn rate and share of churners per band (HIGH first)."""
    codes = risk_band_codes(p, t)
    n, churners = len(p), float(np.sum(y))
    edges = {BAND_HIGH: (t.high, 1.0), BAND_MEDIUM: (t.medium, t.high), BAND_LOW: (0.0, t.medium)}
    out = []
    for code in (2, 1, 0):
        band = BANDS[code]
        m = codes == code
        k = int(m.sum())
        out.append(
            BandStats(
                band,
                edges[band][0],
                edges[band][1],
                k,
                k / n if n else 0.0,
                float(y[m].mean()) if k else 0.0,
                float(y[m].sum() / churners) if churners else 0.0,
            )
        )
    return out


def risk_band(p: float, t: RiskThresholds = RiskThresholds()) -> str:
    """Band of one churn probability."""
    return BANDS[int(risk_band_codes(np.asarray([p]), t)[0])]


def risk_band_codes(p: np.ndarray, t: RiskThresholds = RiskThresholds()) -> np.ndarray:
    """Band index per probability: 0 LOW, 1 MEDIUM, 2 HIGH (vectorised; cut-offs inclusive)."""
    return np.digitize(p, [t.medium, t.high])


def value_tier(value: float, boundaries: Sequence[float]) -> str:
    """Tier of one predicted value given the model's descending cut points."""
    for tier, cut in zip(TIERS, boundaries, strict=False):
        if value >= cut:
            return tier
    return TIERS[-1]


def value_tier_codes(values: np.ndarray, boundaries: Sequence[float]) -> np.ndarray:
    """Tier index per value (0 DIAMOND ... 5 CRYSTAL), vectorised."""
    if not boundaries:
        return np.full(len(values), len(TIERS) - 1)
    ascending = np.asarray(boundaries[::-1], dtype=np.float64)
    above = np.searchsorted(ascending, values, side="right")
    return len(TIERS) - 1 - above
