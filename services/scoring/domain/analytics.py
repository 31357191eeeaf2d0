"""Base analytics (domain layer, issue #19): one run fits RFM thresholds, clusters, the outlier
detector and CLV tiers over the whole base, and assigns every account.

A run is kept (store) so that one account can be assigned later against it without a refit
(ScoreCustomers). Outlier reviews are applied at assignment: an account a reviewer
dismissed for a set of reason codes is not flagged while its reasons stay within that set;
a new reason flags it again, and a CONFIRM review after a dismissal clears the dismissal.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .clusters import ClusterModel, fit_clusters
from .lifetime import ClvThresholds, LifetimeSettings, LifetimeValue, clv_thresholds, clv_tier, lifetime_value
from .rfm import Rfm, RfmModel, assign_rfm, fit_rfm, raw_values

DISMISS, CONFIRM = "DISMISS", "CONFIRM"
#: Profile feature with the account's own margin over fee (from cost records), when it exports one.
MARGIN_RATE_FEATURE = "margin_rate_3m"


def detector_class() -> Any:
    """The outlier detector class, or None while services/scoring/domain/outliers.py is absent."""
    try:
        from . import outliers  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return getattr(outliers, "OutlierDetector", None)


@dataclass(frozen=True)
class Review:
    """A reviewer's decision on a flagged account."""

    customer_id: str
    decision: str
    reason_codes: tuple[str, ...]
    reviewer: str
    reviewed_at: dt.datetime
    note: str = ""
    run_id: str = ""


def dismissed_codes(reviews: Sequence[Review]) -> frozenset[str] | None:
    """Codes dismissed by the reviews after the latest CONFIRM; None when nothing is dismissed."""
    codes: set[str] = set()
    dismissed = False
    for r in sorted(reviews, key=lambda x: x.reviewed_at):
        if r.decision == CONFIRM:
            codes, dismissed = set(), False
        elif r.decision == DISMISS:
            codes.update(r.reason_codes)
            dismissed = True
    return frozenset(codes) if dismissed else None


@dataclass(frozen=True)
class Outlier:
    """One account's outlier assessment (common.v1.OutlierAssessment plus its reason codes)."""

    flagged: bool
    score: float
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]
    dismissed: bool = False
    detected: bool = False  # flagged by the detector or a rule, before reviews


@dataclass(frozen=True)
class ClusterPart:
    """An account's cluster."""

    label: str
    name: str
    distance: float


@dataclass(frozen=True)
class AccountAnalytics:
    """Everything the run says about one account (common.v1.ValueAnalytics)."""

    customer_id: str
    run_id: str
    rfm: Rfm | None = None
    cluster: ClusterPart | None = None
    outlier: Outlier | None = None
    lifetime: LifetimeValue | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON for latest_scores.analytics (NaN recency stored as null)."""
        d: dict[str, Any] = {"run_id": self.run_id}
        if self.rfm:
            r = self.rfm
            d["rfm"] = {
                "recency": r.recency,
                "frequency": r.frequency,
                "monetary": r.monetary,
                "segment": r.segment,
                "recency_days": None if math.isnan(r.recency_days) else r.recency_days,
                "frequency_value": r.frequency_value,
                "monetary_fen": r.monetary_fen,
            }
        if self.cluster:
            d["cluster"] = {"label": self.cluster.label, "name": self.cluster.name, "distance": self.cluster.distance}
        if self.outlier:
            o = self.outlier
            d["outlier"] = {
                "flagged": o.flagged,
                "score": o.score,
                "reasons": list(o.reasons),
                "reason_codes": list(o.reason_codes),
                "dismissed": o.dismissed,
                "detected": o.detected,
            }
        if self.lifetime:
            lv = self.lifetime
            d["lifetime"] = {
                "clv_fen": lv.clv_fen,
                "horizon_months": lv.horizon_months,
                "monthly_margin_fen": lv.monthly_margin_fen,
                "expected_months": lv.expected_months,
                "discount_rate_annual": lv.discount_rate_annual,
                "reasons": list(lv.reasons),
                "tier": lv.tier,
            }
        return d

    @classmethod
    def from_json(cls, customer_id: str, d: Mapping[str, Any]) -> AccountAnalytics:
        r, c, o, lv = d.get("rfm"), d.get("cluster"), d.get("outlier"), d.get("lifetime")
        return cls(
            customer_id=customer_id,
            run_id=str(d.get("run_id", "")),
            rfm=Rfm(
                int(r["recency"]),
                int(r["frequency"]),
                int(r["monetary"]),
                str(r["segment"]),
                math.nan if r["recency_days"] is None else float(r["recency_days"]),
                float(r["frequency_value"]),
                float(r["monetary_fen"]),
            )
            if r
            else None,
            cluster=ClusterPart(str(c["label"]), str(c["name"]), float(c["distance"])) if c else None,
            outlier=Outlier(
                bool(o["flagged"]),
                float(o["score"]),
                tuple(o["reasons"]),
                tuple(o["reason_codes"]),
                bool(o["dismissed"]),
                bool(o.get("detected", o["flagged"])),
            )
            if o
            else None,
            lifetime=LifetimeValue(
                int(lv["clv_fen"]),
                int(lv["horizon_months"]),
                int(lv["monthly_margin_fen"]),
                float(lv["expected_months"]),
                float(lv["discount_rate_annual"]),
                tuple(lv["reasons"]),
                str(lv.get("tier", "")),
            )
            if lv
            else None,
        )


@dataclass(frozen=True)
class ScoreInputs:
    """The account's model answers that lifetime value combines."""

    churn_probability: float | None
    churn_horizon_months: int
    predicted_value_fen: float | None
    value_horizon_months: int
    #: The value model predicts margin (value_target=margin), not revenue.
    value_is_margin: bool = False


@dataclass
class AnalyticsRun:
    """A fitted base-analytics run (what the store keeps)."""

    run_id: str
    created_at: dt.datetime
    accounts: int
    rfm: RfmModel
    clusters: ClusterModel
    outlier_model: bytes = b""
    clv: ClvThresholds | None = None
    segment_counts: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    seed: int = 0

    #: The detector loaded from `outlier_model`, once per run object (ScoreCustomers reuses it).
    _detector: Any = field(default=None, repr=False, compare=False)

    @property
    def k(self) -> int:
        return self.clusters.k

    def detector(self, cls: Any) -> Any:
        """The run's fitted outlier detector (None when the run has none)."""
        if not self.outlier_model:
            return None
        if self._detector is None:
            self._detector = cls.from_bytes(self.outlier_model)
        return self._detector


def columns_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Feature dicts -> numeric columns (NaN for missing or non-numeric values)."""
    names: set[str] = set()
    for r in rows:
        names.update(r)
    out: dict[str, np.ndarray] = {}
    for name in names:
        out[name] = np.array([_number(r.get(name)) for r in rows], dtype=np.float64)
    return out


def _number(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    return math.nan


def fit_run(
    run_id: str,
    now: dt.datetime,
    customer_ids: Sequence[str],
    columns: Mapping[str, np.ndarray],
    scores: Mapping[str, ScoreInputs],
    *,
    previous: AnalyticsRun | None = None,
    seed: int = 0,
    lifetime: LifetimeSettings | None = None,
    reviews: Mapping[str, Sequence[Review]] | None = None,
) -> tuple[AnalyticsRun, list[AccountAnalytics]]:
    """Fit a run over the base and assign every account."""
    n = len(customer_ids)
    rfm_model = fit_rfm(raw_values(columns, n))
    clusters = fit_clusters(columns, n, seed=seed, previous=previous.clusters if previous else None)
    detector_bytes = b""
    cls = detector_class()
    if cls is not None and n >= 2:
        detector = cls.fit(list(customer_ids), _detector_columns(cls, columns, n), seed=seed)
        detector_bytes = bytes(detector.to_bytes())
    settings = lifetime or LifetimeSettings()
    values = _lifetimes(customer_ids, columns, scores, settings)
    clv = clv_thresholds([v.clv_fen for v in values if v is not None]) if any(values) else None
    run = AnalyticsRun(run_id, now, n, rfm_model, clusters, detector_bytes, clv, seed=seed)
    assigned = assign(run, customer_ids, columns, scores, settings, reviews or {}, lifetimes=values)
    counts: dict[str, int] = {}
    for a in assigned:
        if a.rfm:
            counts[a.rfm.segment] = counts.get(a.rfm.segment, 0) + 1
    run.segment_counts = counts
    run.flagged = sum(1 for a in assigned if a.outlier and a.outlier.flagged)
    return run, assigned


def _detector_columns(cls: Any, columns: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The detector's features (NaN where profile exported none)."""
    wanted = getattr(cls, "FEATURES", None) or tuple(columns)
    return {f: np.asarray(columns[f], dtype=np.float64) if f in columns else np.full(n, np.nan) for f in wanted}


def _lifetimes(
    customer_ids: Sequence[str],
    columns: Mapping[str, np.ndarray],
    scores: Mapping[str, ScoreInputs],
    settings: LifetimeSettings,
) -> list[LifetimeValue | None]:
    margin = columns.get(MARGIN_RATE_FEATURE)
    out: list[LifetimeValue | None] = []
    for i, cid in enumerate(customer_ids):
        s = scores.get(cid)
        if s is None:
            out.append(None)
            continue
        rate = float(margin[i]) if margin is not None and not math.isnan(margin[i]) else None
        out.append(
            lifetime_value(
                predicted_value_fen=s.predicted_value_fen,
                value_horizon_months=s.value_horizon_months,
                churn_probability=s.churn_probability,
                churn_horizon_months=s.churn_horizon_months,
                margin_rate=rate,
                settings=settings,
                value_is_margin=s.value_is_margin,
            )
        )
    return out


def assign(
    run: AnalyticsRun,
    customer_ids: Sequence[str],
    columns: Mapping[str, np.ndarray],
    scores: Mapping[str, ScoreInputs],
    settings: LifetimeSettings,
    reviews: Mapping[str, Sequence[Review]],
    lifetimes: Sequence[LifetimeValue | None] | None = None,
) -> list[AccountAnalytics]:
    """Each account's analytics against a fitted run (no refit)."""
    n = len(customer_ids)
    if n == 0:
        return []
    rfm = assign_rfm(run.rfm, raw_values(columns, n))
    clusters = run.clusters.assign(columns, n)
    findings: list[Any] = [None] * n
    cls = detector_class()
    if cls is not None and run.outlier_model:
        detector = run.detector(cls)
        findings = list(detector.assess(list(customer_ids), _detector_columns(cls, columns, n)))
    values = list(lifetimes) if lifetimes is not None else _lifetimes(customer_ids, columns, scores, settings)
    out = []
    for i, cid in enumerate(customer_ids):
        lv = values[i]
        if lv is not None and run.clv is not None:
            lv = LifetimeValue(**{**lv.__dict__, "tier": clv_tier(lv.clv_fen, run.clv)})
        cl = clusters[i] if clusters else None
        out.append(
            AccountAnalytics(
                customer_id=cid,
                run_id=run.run_id,
                rfm=rfm[i],
                cluster=ClusterPart(cl[0].label, cl[0].name, round(cl[1], 6)) if cl else None,
                outlier=_outlier(findings[i], reviews.get(cid, ())),
                lifetime=lv,
            )
        )
    return out


def _outlier(finding: Any, reviews: Sequence[Review]) -> Outlier | None:
    """The finding with reviews applied (module docstring)."""
    if finding is None:
        return None
    codes = tuple(finding.reason_codes)
    detected = bool(finding.flagged)
    gone = dismissed_codes(reviews)
    dismissed = detected and gone is not None and set(codes) <= gone
    return Outlier(
        flagged=detected and not dismissed,
        score=float(finding.score),
        reasons=tuple(finding.reasons),
        reason_codes=codes,
        dismissed=dismissed,
        detected=detected,
    )
