"""Value analytics published with scores (issue #19): stored, served, turned into features,
usable in segments, and bad rows rejected field by field without sinking the others."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.profile.api.converters import analytics_from_pb, analytics_to_pb
from services.profile.api.validation import score_row_violations
from services.profile.domain.analytics import analytics_features
from services.profile.tests.harness import feed, start_ingest, start_profile, wait_applied
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb


def sample_analytics(**outlier: object) -> common_pb2.ValueAnalytics:
    return common_pb2.ValueAnalytics(
        run_id="run-7",
        lifetime_value=common_pb2.LifetimeValue(
            clv_fen=-1_250_000,
            horizon_months=36,
            monthly_margin_fen=-40_000,
            expected_months=31.2,
            discount_rate_annual=0.08,
            tier="negative",
            reasons=["margin -400 yuan a month"],
        ),
        rfm=common_pb2.RfmScore(recency=5, frequency=2, monetary=1, segment="promising", recency_days=3.0),
        cluster=common_pb2.ClusterAssignment(label="c3", name="small, one product line", distance=1.4),
        outlier=common_pb2.OutlierAssessment(
            flagged=bool(outlier.get("flagged", True)),
            score=0.91,
            reasons=["usage up 640% on its 3-month average"],
            dismissed=bool(outlier.get("dismissed", False)),
        ),
    )


def test_features_of_every_part() -> None:
    features = analytics_features(analytics_from_pb(sample_analytics()))
    assert features == {
        "clv_fen": -1_250_000.0,
        "clv_tier": "negative",
        "rfm_recency_score": 5.0,
        "rfm_frequency_score": 2.0,
        "rfm_monetary_score": 1.0,
        "rfm_segment": "promising",
        "cluster": "c3",
        "cluster_name": "small, one product line",
        "outlier_flagged": True,
        "outlier_score": 0.91,
    }
    # A dismissed outlier is not flagged; parts scoring did not compute stay absent.
    dismissed = analytics_features(analytics_from_pb(sample_analytics(dismissed=True)))
    assert dismissed["outlier_flagged"] is False
    assert analytics_features(analytics_from_pb(common_pb2.ValueAnalytics(run_id="r"))) == {}


@settings(max_examples=60, deadline=None)
@given(
    clv=st.integers(-(10**13), 10**13),
    score=st.floats(0, 1),
    recency=st.integers(1, 5),
    label=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20),
)
def test_round_trip_through_the_store_format(clv: int, score: float, recency: int, label: str) -> None:
    msg = common_pb2.ValueAnalytics(
        lifetime_value=common_pb2.LifetimeValue(clv_fen=clv, tier="low"),
        rfm=common_pb2.RfmScore(recency=recency, frequency=1, monetary=1, segment="lost"),
        cluster=common_pb2.ClusterAssignment(label=label),
        outlier=common_pb2.OutlierAssessment(score=score),
    )
    assert analytics_to_pb(analytics_from_pb(msg)) == msg
    assert not score_row_violations(0, pb.AccountScore(customer_id="KA1", analytics=msg))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: setattr(a.rfm, "recency", 6), "scores[0].analytics.rfm.recency"),
        (lambda a: setattr(a.outlier, "score", math.nan), "scores[0].analytics.outlier.score"),
        (lambda a: setattr(a.outlier, "score", 1.5), "scores[0].analytics.outlier.score"),
        (lambda a: setattr(a.lifetime_value, "clv_fen", 10**14), "scores[0].analytics.lifetime_value.clv_fen"),
        (lambda a: setattr(a.cluster, "label", "x" * 1000), "scores[0].analytics.cluster.label"),
        (lambda a: a.outlier.reasons.extend(["r"] * 11), "scores[0].analytics.outlier.reasons"),
        (lambda a: setattr(a, "run_id", "a\x00b"), "scores[0].analytics.run_id"),
    ],
)
def test_bad_parts_are_named(change, field: str) -> None:
    analytics = sample_analytics()
    change(analytics)
    violations = score_row_violations(0, pb.AccountScore(customer_id="KA1", analytics=analytics))
    assert [v.field for v in violations] == [field]


@pytest.fixture
async def profile(db_url, tmp_path):
    ingest, ingest_db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}")
    accepted = await feed(ingest.address, accounts=6, months=6)
    service, db, channel, stub = await start_profile(
        db_url, ingest_addr=ingest.address, contact_addr="127.0.0.1:1", scoring_addr="127.0.0.1:1"
    )
    await wait_applied(stub, accepted)
    yield stub
    await channel.close()
    await service.stop(0)
    db.dispose()
    await ingest.stop(0)
    ingest_db.dispose()


async def test_published_analytics_reach_customer360_features_and_segments(profile) -> None:
    bad = sample_analytics()
    bad.rfm.monetary = 9
    reply = await profile.RecordScores(
        pb.RecordScoresRequest(
            scores=[
                pb.AccountScore(
                    customer_id="KA100001",
                    churn_probability=0.2,
                    risk_band=1,
                    model_version="churn:1",
                    analytics=sample_analytics(),
                ),
                pb.AccountScore(customer_id="KA100002", churn_probability=0.2, risk_band=1, analytics=bad),
            ]
        )
    )
    assert reply.accepted == 1
    assert [(r.index, [v.field for v in r.violations]) for r in reply.rejected] == [
        (1, ["scores[1].analytics.rfm.monetary"])
    ]
    view = await profile.GetCustomer360(pb.GetCustomer360Request(customer_id="KA100001"))
    assert view.score.analytics == sample_analytics()
    assert view.features["cluster"].string_value == "c3"
    assert view.features["outlier_flagged"].bool_value is True
    found = await profile.QuerySegment(
        pb.QuerySegmentRequest(expression="outlier_flagged and rfm_segment = 'promising' and clv_fen < 0")
    )
    assert [m.customer_id for m in found.members] == ["KA100001"]
