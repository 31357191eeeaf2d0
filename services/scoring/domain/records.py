"""Plain records scoring exchanges with profile and its own store (domain layer).

Features looked up or exported from profile, the scores published to profile, the batch
scores kept in the store and the risk-band changes between batches. The interfaces that
carry them are declared by the use cases (usecases/ports.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .analytics import AccountAnalytics


@dataclass
class FeatureLookup:
    """Features of requested accounts at one moment (GetFeatures)."""

    as_of: dt.datetime
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_found: set[str] = field(default_factory=set)
    terminated: set[str] = field(default_factory=set)


@dataclass
class FeatureFrame:
    """A batch of exported features: one row per account (customer_id, status, features)."""

    as_of: dt.datetime
    frame: pd.DataFrame
    descriptions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedScore:
    """A score sent to profile (RecordScores)."""

    customer_id: str
    churn_probability: float
    risk_band: str
    predicted_value_fen: int
    value_horizon_months: int
    model_version: str
    scored_at: dt.datetime
    reasons: list[tuple[str, str, float]]
    #: The account's base analytics (issue #19), when computed.
    analytics: AccountAnalytics | None = None


@dataclass(frozen=True)
class StoredScore:
    """One account's batch score as stored."""

    customer_id: str
    churn_probability: float | None
    risk_band: str
    predicted_value_fen: int | None
    value_tier: str
    churn_model_id: str
    value_model_id: str
    scored_at: dt.datetime
    features_as_of: dt.datetime
    reasons: list[dict[str, Any]]
    #: The account's base analytics from the latest run (issue #19), if any.
    analytics: AccountAnalytics | None = None


@dataclass(frozen=True)
class BandChange:
    """An account whose risk band differs from its previous batch score."""

    customer_id: str
    previous_band: str
    band: str


@dataclass(frozen=True)
class Erasure:
    """An account's erasure as applied in scoring's store (its tombstone).

    `removed` counts what the first application deleted ("scores", "latest_scores" with the
    account's analytics, "outlier_reviews"); a repeat
    answers the same counts and time, with `repeated` set."""

    customer_id: str
    erasure_id: str
    erased_at: dt.datetime
    removed: dict[str, int]
    repeated: bool = False
