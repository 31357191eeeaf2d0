"""RFM scores and segments against the base's quintiles (domain layer, issue #19).

Raw values, from profile's exported features:
  recency    days since the account's latest activity: the smaller of
             `days_since_last_payment` (latest paid bill) and `days_since_last_interaction`
             (any channel). Fewer days score higher. No activity on record scores 1.
  frequency  `months_billed_12m`: months with a fee in the last 12 (0-12). Missing = 0.
  monetary   `fee_total_sum_12m`: revenue over the last 12 months, fen. Missing = 0.

Scores 1-5 by quintiles of the base in the run, ties never split: every distinct value gets
the quintile of its mid-rank, score = 1 + floor(5 x (below + equal / 2) / n) (below: accounts
with a worse value, equal: with the same value). So a block of equal values (most accounts
billed all 12 months, many without revenue) shares one score, the one its middle falls in.
The fit keeps four thresholds per dimension (the least good value that reaches each score
2..5), so one account is scored later against the run's base without the base: better than
or equal to k thresholds scores 1 + k.

Segments come from R and FM = round-half-up((F + M) / 2) on the usual grid:
  R \\ FM   1               2               3                  4          5
  5        new             potential_loyalist potential_loyalist champions champions
  4        promising       potential_loyalist potential_loyalist loyal     champions
  3        about_to_sleep  about_to_sleep  need_attention     loyal      loyal
  2        hibernating     hibernating     at_risk            at_risk    cannot_lose
  1        lost            lost            at_risk            at_risk    cannot_lose
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

RECENCY_SOURCES = ("days_since_last_payment", "days_since_last_interaction")
FREQUENCY_FEATURE = "months_billed_12m"
MONETARY_FEATURE = "fee_total_sum_12m"
FEATURES = (*RECENCY_SOURCES, FREQUENCY_FEATURE, MONETARY_FEATURE)

SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)

# GRID[r - 1][fm - 1]: the segment of recency score r and FM score fm (module docstring).
GRID: tuple[tuple[str, ...], ...] = (
    ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
)


@dataclass(frozen=True)
class Quintiles:
    """One dimension's fitted thresholds: thresholds[k - 2] is the least good value scoring k.

    A threshold is None when no value of the base reaches that score (few distinct values).
    `higher_is_better` is False for recency (fewer days is better)."""

    thresholds: tuple[float | None, float | None, float | None, float | None]
    higher_is_better: bool = True

    def score(self, value: float) -> int:
        """1-5 for one raw value (NaN scores 1)."""
        if math.isnan(value):
            return 1
        reached = 0
        for t in self.thresholds:
            if t is not None and (value >= t if self.higher_is_better else value <= t):
                reached += 1
        return 1 + reached

    def scores(self, values: np.ndarray) -> np.ndarray:
        """Scores of many values (int array)."""
        return np.array([self.score(float(v)) for v in values], dtype=np.int64)

    def to_json(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds), "higher_is_better": self.higher_is_better}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Quintiles:
        t = [None if x is None else float(x) for x in d["thresholds"]]
        return cls((t[0], t[1], t[2], t[3]), bool(d["higher_is_better"]))


def fit_quintiles(values: np.ndarray, higher_is_better: bool = True) -> Quintiles:
    """Thresholds from the base's values (NaN left out), ties kept together (mid-rank rule)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return Quintiles((None, None, None, None), higher_is_better)
    goodness = v if higher_is_better else -v
    distinct, counts = np.unique(goodness, return_counts=True)  # worst to best
    below = np.cumsum(counts) - counts
    mid = (below + counts / 2.0) / v.size
    block_scores = np.clip(1 + np.floor(5 * mid).astype(np.int64), 1, 5)
    thresholds: list[float | None] = []
    for k in range(2, 6):
        reaching = distinct[block_scores >= k]
        if reaching.size == 0:
            thresholds.append(None)
        else:
            least = float(reaching[0])
            thresholds.append(least if higher_is_better else -least)
    return Quintiles((thresholds[0], thresholds[1], thresholds[2], thresholds[3]), higher_is_better)


def segment(r: int, f: int, m: int) -> str:
    """The RFM segment of three 1-5 scores (grid in the module docstring)."""
    fm = int(math.floor((f + m) / 2 + 0.5))
    return GRID[r - 1][fm - 1]


@dataclass(frozen=True)
class RfmValues:
    """The raw values of a set of accounts (one entry per account)."""

    recency_days: np.ndarray
    frequency: np.ndarray
    monetary_fen: np.ndarray


def raw_values(columns: Mapping[str, np.ndarray], n: int) -> RfmValues:
    """Raw recency, frequency and monetary values from feature columns (rules above)."""

    def col(name: str) -> np.ndarray:
        c = columns.get(name)
        return np.full(n, np.nan) if c is None else np.asarray(c, dtype=np.float64)

    sources = np.vstack([col(name) for name in RECENCY_SOURCES])
    nearest = np.where(np.isnan(sources), np.inf, sources).min(axis=0)
    recency = np.where(np.isinf(nearest), np.nan, nearest)
    frequency = np.nan_to_num(col(FREQUENCY_FEATURE), nan=0.0)
    monetary = np.nan_to_num(col(MONETARY_FEATURE), nan=0.0)
    return RfmValues(recency, frequency, monetary)


@dataclass(frozen=True)
class RfmModel:
    """The run's thresholds for the three dimensions."""

    recency: Quintiles
    frequency: Quintiles
    monetary: Quintiles

    def to_json(self) -> dict[str, Any]:
        return {
            "recency": self.recency.to_json(),
            "frequency": self.frequency.to_json(),
            "monetary": self.monetary.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RfmModel:
        return cls(
            Quintiles.from_json(d["recency"]), Quintiles.from_json(d["frequency"]), Quintiles.from_json(d["monetary"])
        )


@dataclass(frozen=True)
class Rfm:
    """One account's RFM scores, segment and raw values (common.v1.RfmScore)."""

    recency: int
    frequency: int
    monetary: int
    segment: str
    recency_days: float
    frequency_value: float
    monetary_fen: float


def fit_rfm(values: RfmValues) -> RfmModel:
    """Thresholds of the base in the run."""
    return RfmModel(
        fit_quintiles(values.recency_days, higher_is_better=False),
        fit_quintiles(values.frequency),
        fit_quintiles(values.monetary_fen),
    )


def assign_rfm(model: RfmModel, values: RfmValues) -> list[Rfm]:
    """Every account's scores and segment against the run's thresholds."""
    out = []
    for rd, fv, mv in zip(values.recency_days, values.frequency, values.monetary_fen, strict=True):
        r, f, m = model.recency.score(float(rd)), model.frequency.score(float(fv)), model.monetary.score(float(mv))
        out.append(Rfm(r, f, m, segment(r, f, m), float(rd), float(fv), float(mv)))
    return out
