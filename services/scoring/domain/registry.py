"""Registry records, champion serving with atomic swaps, and the promotion rule.

Serving reads one immutable `ChampionSet` per request (a single attribute read), so every
score of a request comes entirely from the old or entirely from the new champions, and a
promotion never blocks scoring: the new booster is loaded first, then one assignment
publishes it. Boosters are parsed once per model id and cached.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bands import RiskThresholds
from .params import CHURN, VALUE, TrainParams
from .schema import FeatureSchema
from .training import TrainedModel

READY = "READY"
CHAMPION = "CHAMPION"
RETIRED = "RETIRED"
TRAINING = "TRAINING"
FAILED = "FAILED"

NEVER = "NEVER"
IF_BETTER = "IF_BETTER"
ALWAYS = "ALWAYS"


@dataclass
class ModelRecord:
    """A model version as the registry keeps it."""

    model_id: str
    kind: str
    version: int
    status: str
    description: str
    created_at: dt.datetime
    features: list[dict[str, Any]]
    importance: dict[str, Any]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    best_iteration: int
    logit_offset: float
    value_boundaries: list[float]
    model_text: str
    holdout: bytes
    job_id: str = ""
    promotion_note: str = ""
    promoted_at: dt.datetime | None = None
    # Churn: probability = sigmoid(logit_scale * raw - logit_offset) (see TrainedModel).
    logit_scale: float = 1.0

    def load(self) -> TrainedModel:
        """Parse the stored booster into a scorable model."""
        import lightgbm as lgb  # deferred: loading LightGBM takes a second, only parsing needs it

        booster = lgb.Booster(model_str=self.model_text)
        return TrainedModel(
            kind=self.kind,
            booster=booster,
            schema=FeatureSchema.from_list(self.features),
            params=TrainParams(),
            best_iteration=self.best_iteration,
            logit_offset=self.logit_offset,
            logit_scale=self.logit_scale,
            value_boundaries=list(self.value_boundaries),
            risk=self.risk_thresholds(),
        )

    def risk_thresholds(self) -> RiskThresholds:
        """The version's risk-band cut-offs, from its stored holdout metrics (churn only)."""
        if self.kind != CHURN:
            return RiskThresholds()
        high = float(self.metrics.get("band_high_threshold", 0.0) or 0.0)
        if high <= 0:
            return RiskThresholds()
        return RiskThresholds(float(self.metrics.get("band_medium_threshold", 0.0)), high, "holdout_deciles")


@dataclass(frozen=True)
class Holdout:
    """Holdout arrays kept with a model: labels, predictions, baseline (may be empty)."""

    y: np.ndarray
    pred: np.ndarray
    baseline: np.ndarray

    def to_bytes(self) -> bytes:
        """Compressed npz bytes."""
        buf = io.BytesIO()
        np.savez_compressed(buf, y=self.y, pred=self.pred, baseline=self.baseline)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Holdout:
        """Inverse of to_bytes."""
        with np.load(io.BytesIO(data)) as z:
            return cls(y=z["y"], pred=z["pred"], baseline=z["baseline"])


@dataclass(frozen=True)
class ServingModel:
    """A champion ready to score: its id, version and the loaded model."""

    model_id: str
    version: int
    model: TrainedModel
    horizon_months: int
    #: What a value model predicts: "revenue" or "margin" (its `value_target` parameter).
    target: str = "revenue"


@dataclass(frozen=True)
class ChampionSet:
    """The champions in force at one moment (immutable; swapped as a whole)."""

    churn: ServingModel | None = None
    value: ServingModel | None = None

    def get(self, kind: str) -> ServingModel | None:
        """The champion of a kind."""
        return self.churn if kind == CHURN else self.value


@dataclass
class ServingModels:
    """Holds the current ChampionSet and a cache of loaded models by id."""

    _current: ChampionSet = field(default_factory=ChampionSet)
    _cache: dict[str, ServingModel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def current(self) -> ChampionSet:
        """The champions in force now (read once per request)."""
        return self._current

    def cached(self, model_id: str) -> ServingModel | None:
        """A model already loaded, by id (None when it has not been loaded yet)."""
        return self._cache.get(model_id)

    def serving_model(self, record: ModelRecord) -> ServingModel:
        """The loaded model of a record, parsed once and cached."""
        cached = self._cache.get(record.model_id)
        if cached is not None:
            return cached
        parameters = record.lineage.get("parameters") or {}
        loaded = ServingModel(
            record.model_id,
            record.version,
            record.load(),
            int(record.lineage.get("horizon_months", 0) or 0),
            str(parameters.get("value_target", "revenue")) if isinstance(parameters, dict) else "revenue",
        )
        with self._lock:
            return self._cache.setdefault(record.model_id, loaded)

    def install(self, record: ModelRecord) -> ChampionSet:
        """Make a record the champion of its kind: load first, then swap atomically."""
        model = self.serving_model(record)
        with self._lock:
            cur = self._current
            new = (
                ChampionSet(churn=model, value=cur.value)
                if record.kind == CHURN
                else ChampionSet(churn=cur.churn, value=model)
            )
            self._current = new
            return new

    def sync(self, champions: dict[str, ModelRecord]) -> bool:
        """Install the champions the store names (other replicas' promotions); True when
        anything changed."""
        changed = False
        for kind in (CHURN, VALUE):
            record = champions.get(kind)
            current = self._current.get(kind)
            if record is not None and (current is None or current.model_id != record.model_id):
                self.install(record)
                changed = True
        return changed


def promotion_decision(
    rule: str,
    challenger_primary: float,
    champion_primary: float | None,
    min_gain: float,
    metric_name: str,
    baseline_primary: float | None = None,
    champion_on: str = "on the same holdout",
) -> tuple[bool, str]:
    """Whether to promote a new model automatically, and why, in words.

    No rule promotes a model that does not beat its simple baseline on the same holdout
    (when one was computed): without a champion there is nothing else to compare with, and
    a model that loses to "last quarter's fee trend" must not start serving on its own.
    """
    if rule not in (ALWAYS, IF_BETTER):
        return False, "not promoted automatically (rule: never); call PromoteModel"
    if baseline_primary is not None and not challenger_primary > baseline_primary:
        return False, (
            f"not promoted: {metric_name} {challenger_primary:.4f} does not beat the baseline's "
            f"{baseline_primary:.4f} on the same holdout; call PromoteModel to promote it anyway"
        )
    if rule == ALWAYS:
        return True, "promoted automatically (rule: always)"
    if champion_primary is None:
        beats = f"; it beats the baseline's {baseline_primary:.4f}" if baseline_primary is not None else ""
        return True, f"promoted automatically: there was no champion of this kind{beats}"
    gain = challenger_primary - champion_primary
    if gain > min_gain:
        return True, (
            f"promoted automatically: {metric_name} {challenger_primary:.4f} beats the champion's "
            f"{champion_primary:.4f} {champion_on} by {gain:+.4f} (required > {min_gain:.4f})"
        )
    return False, (
        f"not promoted: {metric_name} {challenger_primary:.4f} vs the champion's {champion_primary:.4f} "
        f"{champion_on} ({gain:+.4f}, required > {min_gain:.4f})"
    )
