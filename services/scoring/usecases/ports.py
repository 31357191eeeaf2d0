"""What scoring's use cases need from the outside, as small interfaces (usecases layer).

`FeatureSource` is profile (features as of a date, label facts, and where risk-band changes
are published; peers/profile.py); `ScoreRegistry` is scoring's own store
(store/repository.py). The composition root wires the gRPC client and the SQL repository
behind them; tests can wire anything that behaves the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from ..domain.labels import Outcomes
from ..domain.records import FeatureFrame, FeatureLookup, PublishedScore
from ..domain.registry import ModelRecord


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
