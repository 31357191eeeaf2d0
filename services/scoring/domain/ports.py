"""What scoring's domain needs from the outside, as small interfaces.

`FeatureSource` is profile (features as of a date, label facts, and where risk-band changes
are published); `ScoreRegistry` is scoring's own store. The service wires a gRPC client
and the SQL repository behind them; tests can wire anything that behaves the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from .labels import Outcomes
from .registry import ModelRecord


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


@dataclass(frozen=True)
class BandChange:
    """An account whose risk band differs from its previous batch score."""

    customer_id: str
    previous_band: str
    band: str


class FeatureSource(Protocol):
    """Profile as scoring uses it."""

    async def get_features(self, customer_ids: Sequence[str], as_of: dt.datetime | None = None) -> FeatureLookup:
        """Point-in-time features of up to 1000 accounts."""

    def export_features(self, as_of: dt.datetime, batch_size: int = 1000) -> AsyncIterator[FeatureFrame]:
        """All active accounts' features as of a moment, in batches."""

    async def export_outcomes(self, from_month: str, to_month: str) -> Outcomes:
        """Monthly fee totals and lifecycle changes of a window of months."""

    async def record_scores(self, scores: Sequence[PublishedScore]) -> int:
        """Publish scores; returns the risk-band changes profile saw."""


class ScoreRegistry(Protocol):
    """The parts of scoring's store the domain drives (see store.repository)."""

    def add_model(self, record: ModelRecord) -> ModelRecord: ...

    def get_model(self, model_id: str, with_blobs: bool = True) -> ModelRecord: ...

    def promote(self, model_id: str, now: dt.datetime) -> ModelRecord: ...

    def champions(self) -> dict[str, ModelRecord]: ...

    def champion_ids(self) -> dict[str, str]: ...

    def set_note(self, model_id: str, note: str) -> None: ...
