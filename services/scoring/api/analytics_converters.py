"""Base analytics <-> protobuf (issue #19): ValueAnalytics for both AccountScore messages, the
run summary, outliers and reviews.

The servicer's side; the profile client translates the same record for RecordScores in
peers/analytics_pb.py (layers translate for themselves). An account without recorded activity has no recency in days:
`recency_days` is then -1 (the score is 1).
"""

from __future__ import annotations

import math

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360_runtime.timeconv import to_timestamp

from ..domain.analytics import CONFIRM, DISMISS, AccountAnalytics, AnalyticsRun, Review

DECISION_FROM_PB = {pb.REVIEW_DECISION_DISMISS: DISMISS, pb.REVIEW_DECISION_CONFIRM: CONFIRM}
DECISION_TO_PB = {v: k for k, v in DECISION_FROM_PB.items()}
RFM_DIMENSIONS = ("recency", "frequency", "monetary")


def outlier_pb(a: AccountAnalytics) -> common_pb2.OutlierAssessment | None:
    """The account's OutlierAssessment, or None when it has none."""
    o = a.outlier
    if o is None:
        return None
    return common_pb2.OutlierAssessment(
        flagged=o.flagged, score=o.score, reasons=list(o.reasons), dismissed=o.dismissed
    )


def value_analytics_pb(a: AccountAnalytics | None) -> common_pb2.ValueAnalytics | None:
    """common.v1.ValueAnalytics of an account; None when it has no analytics."""
    if a is None:
        return None
    out = common_pb2.ValueAnalytics(run_id=a.run_id)
    if a.rfm is not None:
        r = a.rfm
        out.rfm.CopyFrom(
            common_pb2.RfmScore(
                recency=r.recency,
                frequency=r.frequency,
                monetary=r.monetary,
                segment=r.segment,
                recency_days=-1.0 if math.isnan(r.recency_days) else r.recency_days,
                frequency_value=r.frequency_value,
                monetary_fen=r.monetary_fen,
            )
        )
    if a.cluster is not None:
        out.cluster.CopyFrom(
            common_pb2.ClusterAssignment(label=a.cluster.label, name=a.cluster.name, distance=a.cluster.distance)
        )
    outlier = outlier_pb(a)
    if outlier is not None:
        out.outlier.CopyFrom(outlier)
    if a.lifetime is not None:
        lv = a.lifetime
        out.lifetime_value.CopyFrom(
            common_pb2.LifetimeValue(
                clv_fen=lv.clv_fen,
                horizon_months=lv.horizon_months,
                monthly_margin_fen=lv.monthly_margin_fen,
                expected_months=lv.expected_months,
                discount_rate_annual=lv.discount_rate_annual,
                tier=lv.tier,
                reasons=list(lv.reasons),
            )
        )
    return out


def _thresholds(values: tuple[float | None, ...]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def run_to_pb(run: AnalyticsRun) -> pb.BaseAnalytics:
    """The run summary GetBaseAnalytics answers."""
    c = run.clusters
    reply = pb.BaseAnalytics(
        run_id=run.run_id,
        created_at=to_timestamp(run.created_at),
        accounts=run.accounts,
        k=run.k,
        silhouette=c.silhouette,
        candidates=[pb.KCandidate(k=k, silhouette=s) for k, s in sorted(c.silhouettes.items())],
        clusters=[
            pb.ClusterProfile(
                label=x.label,
                name=x.name,
                size=x.size,
                standouts=[pb.ClusterStandout(feature=f, z=z) for f, z in x.standouts],
            )
            for x in c.clusters
        ],
        rfm=[
            pb.RfmThresholds(dimension=name, thresholds=_thresholds(q.thresholds), higher_is_better=q.higher_is_better)
            for name, q in zip(RFM_DIMENSIONS, (run.rfm.recency, run.rfm.frequency, run.rfm.monetary), strict=True)
        ],
        segments=[
            pb.SegmentCount(segment=s, accounts=n)
            for s, n in sorted(run.segment_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        outliers_flagged=run.flagged,
        seed=run.seed,
    )
    if run.clv is not None:
        reply.clv.CopyFrom(pb.ClvTierThresholds(top_fen=run.clv.top, high_fen=run.clv.high, medium_fen=run.clv.medium))
    return reply


def outlier_account_pb(a: AccountAnalytics) -> pb.OutlierAccount:
    """One ListOutliers entry."""
    return pb.OutlierAccount(
        customer_id=a.customer_id,
        assessment=outlier_pb(a),
        reason_codes=list(a.outlier.reason_codes) if a.outlier else [],
        cluster=a.cluster.label if a.cluster else "",
    )


def review_to_pb(r: Review) -> pb.OutlierReview:
    """A stored review."""
    return pb.OutlierReview(
        customer_id=r.customer_id,
        decision=DECISION_TO_PB.get(r.decision, pb.REVIEW_DECISION_UNSPECIFIED),
        reason_codes=list(r.reason_codes),
        reviewer=r.reviewer,
        reviewed_at=to_timestamp(r.reviewed_at),
        note=r.note,
        run_id=r.run_id,
    )
