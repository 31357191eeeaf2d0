"""Base analytics as profile receives them (peers layer, issue #19): common.v1.ValueAnalytics
on RecordScores' AccountScore.

The api layer answers the same message from its own converter (api/analytics_converters.py):
each adapter translates for its side, as the layering requires. An account without recorded
activity has no recency in days: `recency_days` is then -1 (the score is 1).
"""

from __future__ import annotations

import math

from telco360.common.v1 import common_pb2

from ..domain.analytics import AccountAnalytics


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
