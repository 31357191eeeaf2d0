"""Risk bands from churn probabilities and value tiers from predicted value.

Risk bands (documented in scoring.proto): HIGH p >= 0.30, MEDIUM 0.10 <= p < 0.30,
LOW p < 0.10. Key accounts churn rarely (a few percent a quarter), so a 30 % probability
over the horizon is already about ten times the base rate: a case for the account manager
this week. Value tiers use the value model's own cut points on its training predictions
(top 2 % diamond, next 5 % emerald, next 10 % platinum, next 18 % sapphire, next 25 %
gold, the rest crystal), so the tiers stay meaningful whatever the currency scale.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

HIGH_THRESHOLD = 0.30
MEDIUM_THRESHOLD = 0.10

# Names match telco360.common.v1.RiskBand / AccountTier without their prefixes.
BAND_LOW = "LOW"
BAND_MEDIUM = "MEDIUM"
BAND_HIGH = "HIGH"
BANDS = (BAND_LOW, BAND_MEDIUM, BAND_HIGH)
TIERS = ("DIAMOND", "EMERALD", "PLATINUM", "SAPPHIRE", "GOLD", "CRYSTAL")


def risk_band(p: float) -> str:
    """Band of one churn probability."""
    if p >= HIGH_THRESHOLD:
        return BAND_HIGH
    if p >= MEDIUM_THRESHOLD:
        return BAND_MEDIUM
    return BAND_LOW


def risk_band_codes(p: np.ndarray) -> np.ndarray:
    """Band index per probability: 0 LOW, 1 MEDIUM, 2 HIGH (vectorised)."""
    return np.digitize(p, [MEDIUM_THRESHOLD, HIGH_THRESHOLD])


def value_tier(value: float, boundaries: Sequence[float]) -> str:
    """Tier of one predicted value given the model's descending cut points."""
    for tier, cut in zip(TIERS, boundaries):
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
