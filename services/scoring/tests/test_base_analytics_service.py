"""Base analytics through a real scoring server and a synthetic profile peer (issue #19), on
SQLite and PostgreSQL: ScoreAll fits a run and publishes the analytics with the scores,
GetBaseAnalytics describes it, ListOutliers pages the flagged accounts, ReviewOutlier's
dismissal holds across RunBaseAnalytics, ScoreCustomers applies the latest run, and bad
input answers field violations.

The outlier detector is the rule stand-in of test_base_analytics (arrears over 30 days), so
the flagged accounts are known from the synthetic base.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest

from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.db import Database, migrate
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.status import field_violations

from .profile_peer import SyntheticProfile
from .test_base_analytics import rules  # noqa: F401 - the rule detector fixture
from .test_service import cut, service_base

#: Models only feed lifetime value here: a few rounds are enough.
QUICK = {"num_boost_round": "40", "learning_rate": "0.2"}
TOKENS = {
    "t-admin": "admin:root",
    "t-an": "analyst:ana-3",
    "t-mk": "marketing:mk-1",
    "t-svc": "service:crm",
    "t-pr": "service:profile",
}
ANALYST, MARKETING, SERVICE, ERASER = ((("authorization", f"Bearer {t}"),) for t in ("t-an", "t-mk", "t-svc", "t-pr"))


@dataclass
class Running:
    stub: scoring_pb2_grpc.ScoringServiceStub
    profile: SyntheticProfile
    address: str


@pytest.fixture
async def running(tmp_path: pathlib.Path, db_url: str, rules: None) -> AsyncIterator[Running]:  # noqa: F811
    profile = SyntheticProfile(service_base())
    name = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name
    peer = GrpcService(
        ServiceSettings(service_name="profile", port=0, grace_seconds=0.5),
        [Registration(profile_pb2_grpc.add_ProfileServiceServicer_to_server, profile, name)],
    )
    await peer.start()
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=4)
    settings = ScoringSettings(
        port=0,
        database_url=db_url,
        profile_addr=peer.address,
        report_dir=str(tmp_path / "reports"),
        champion_refresh_seconds=0,
        grace_seconds=1,
        auth_tokens=TOKENS,
    )
    service = build_service(settings, db)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            yield Running(scoring_pb2_grpc.ScoringServiceStub(channel), profile, service.address)
    finally:
        await service.stop(1)
        db.dispose()
        await peer.stop(0.5)


async def finished(stub: scoring_pb2_grpc.ScoringServiceStub, job: common_pb2.Job) -> common_pb2.Job:
    """The job once it ended (successfully); training waits for the shared cores, so up to 10 min."""
    for _ in range(3000):
        job = await stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id), metadata=ANALYST)
        if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
            assert job.state == common_pb2.JOB_STATE_SUCCEEDED, job.error_message
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job still {job.state}")


async def all_outliers(stub: scoring_pb2_grpc.ScoringServiceStub, dismissed: bool = False) -> list[pb.OutlierAccount]:
    """Every page of ListOutliers, three accounts at a time."""
    out: list[pb.OutlierAccount] = []
    token = ""
    while True:
        page = common_pb2.PageRequest(page_size=3, page_token=token)
        request = pb.ListOutliersRequest(page=page, include_dismissed=dismissed)
        reply = await stub.ListOutliers(request, metadata=ANALYST)
        out.extend(reply.outliers)
        token = reply.page.next_page_token
        if not token:
            assert reply.page.total_count == len(out)
            return out


async def test_runs_outliers_and_reviews_end_to_end(running: Running) -> None:
    stub, profile = running.stub, running.profile
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetBaseAnalytics(pb.GetBaseAnalyticsRequest(), metadata=ANALYST)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    train = pb.TrainModelRequest(
        kind=pb.MODEL_KIND_CHURN,
        as_of=[cut(m) for m in (15, 21)],
        holdout_as_of=cut(24),
        horizon_months=3,
        parameters=QUICK,
    )
    trained = await finished(stub, await stub.TrainModel(train, metadata=ANALYST))
    await stub.PromoteModel(pb.PromoteModelRequest(model_id=trained.result_ref), metadata=ANALYST)
    value = pb.TrainModelRequest(
        kind=pb.MODEL_KIND_VALUE, as_of=[cut(6), cut(12)], holdout_as_of=cut(18), horizon_months=6, parameters=QUICK
    )
    trained = await finished(stub, await stub.TrainModel(value, metadata=ANALYST))
    await stub.PromoteModel(pb.PromoteModelRequest(model_id=trained.result_ref), metadata=ANALYST)
    batch = await finished(stub, await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400), metadata=ANALYST))
    assert "; analytics run-" in batch.message

    frame = profile.frame(service_base().months)
    active = frame[frame["status"] == "ACTIVE"]
    late = sorted(active[active["days_overdue"] > 30]["customer_id"])
    assert late  # the synthetic base has accounts in arrears

    summary = await stub.GetBaseAnalytics(pb.GetBaseAnalyticsRequest(), metadata=MARKETING)
    assert summary.accounts == len(active) and 2 <= summary.k <= 8 and len(summary.clusters) == summary.k
    assert sum(c.size for c in summary.clusters) == summary.accounts
    assert all(c.name and c.label.startswith("c") for c in summary.clusters)
    assert summary.silhouette == max(c.silhouette for c in summary.candidates)
    assert [r.dimension for r in summary.rfm] == ["recency", "frequency", "monetary"]
    assert all(len(r.thresholds) == 4 for r in summary.rfm)
    assert sum(s.accounts for s in summary.segments) == summary.accounts
    assert summary.outliers_flagged == len(late)
    assert summary.HasField("clv") and summary.clv.top_fen >= summary.clv.high_fen >= summary.clv.medium_fen

    # Every active account went to profile once, with its analytics of this run.
    sent = {s.customer_id: s for s in profile.recorded}
    assert set(sent) == set(active["customer_id"])
    some = sent[late[0]]
    assert some.analytics.run_id == summary.run_id and some.analytics.outlier.flagged
    assert some.analytics.rfm.segment and some.analytics.cluster.label and some.analytics.lifetime_value.tier

    listed = await all_outliers(stub)
    assert [o.customer_id for o in listed] == late
    assert all(o.assessment.flagged and o.reason_codes == ["arrears"] for o in listed)
    assert all(o.assessment.reasons[0].endswith("days overdue") for o in listed)

    # A dismissal takes the account off the list, and is remembered by the next run.
    review = await stub.ReviewOutlier(
        pb.ReviewOutlierRequest(customer_id=late[0], decision=pb.REVIEW_DECISION_DISMISS, note="known dispute"),
        metadata=ANALYST,
    )
    assert review.reason_codes == ["arrears"] and review.reviewer == "ana-3 (analyst)"
    assert review.run_id == summary.run_id and review.note == "known dispute"
    told = profile.recorded[-1]  # profile hears of the review at once (its outlier tag follows)
    assert told.customer_id == late[0] and told.analytics.outlier.dismissed and not told.analytics.outlier.flagged
    assert [o.customer_id for o in await all_outliers(stub)] == late[1:]
    with_dismissed = {o.customer_id: o for o in await all_outliers(stub, dismissed=True)}
    assert set(with_dismissed) == set(late) and with_dismissed[late[0]].assessment.dismissed

    profile.recorded.clear()
    rerun = await finished(stub, await stub.RunBaseAnalytics(pb.RunBaseAnalyticsRequest(), metadata=ANALYST))
    again = await stub.GetBaseAnalytics(pb.GetBaseAnalyticsRequest(), metadata=ANALYST)
    assert rerun.result_ref == again.run_id != summary.run_id
    assert again.outliers_flagged == len(late) - 1
    assert {c.label for c in again.clusters} == {c.label for c in summary.clusters}  # same base, same labels
    assert [o.customer_id for o in await all_outliers(stub)] == late[1:]
    stored = await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=late[0]), metadata=SERVICE)
    assert stored.analytics.run_id == again.run_id
    assert stored.analytics.outlier.dismissed and not stored.analytics.outlier.flagged
    assert stored.analytics.lifetime_value.tier and again.HasField("clv")  # from the stored scores

    # ScoreCustomers applies the latest run (no refit) to the accounts asked for.
    scored = await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=late[:2]), metadata=SERVICE)
    assert [s.analytics.run_id for s in scored.scores] == [again.run_id] * 2
    assert [s.analytics.outlier.flagged for s in scored.scores] == [False, True]
    assert scored.scores[1].analytics.cluster.label == stored_label(sent, late[1])

    # Erasure takes the account's analytics and reviews with it; later runs leave it out.
    await stub.ReviewOutlier(
        pb.ReviewOutlierRequest(customer_id=late[1], decision=pb.REVIEW_DECISION_CONFIRM), metadata=ANALYST
    )
    erased = await stub.ApplyErasure(
        common_pb2.ApplyErasureRequest(erasure_id="er-9", customer_id=late[1]), metadata=ERASER
    )
    assert dict(erased.removed) == {"scores": 1, "latest_scores": 1, "outlier_reviews": 1}
    profile.recorded.clear()
    await finished(stub, await stub.RunBaseAnalytics(pb.RunBaseAnalyticsRequest(), metadata=ANALYST))
    assert [o.customer_id for o in await all_outliers(stub, dismissed=True)] == [late[0], *late[2:]]
    assert late[1] not in {s.customer_id for s in profile.recorded}


def stored_label(sent: dict[str, profile_pb2.AccountScore], cid: str) -> str:
    return sent[cid].analytics.cluster.label


async def test_review_validation_and_not_flagged(running: Running) -> None:
    stub = running.stub
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ReviewOutlier(pb.ReviewOutlierRequest(customer_id="", note="x" * 4001), metadata=ANALYST)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in field_violations(err.value)} == {"customer_id", "decision", "note"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ReviewOutlier(
            pb.ReviewOutlierRequest(customer_id="KA1", decision=pb.REVIEW_DECISION_DISMISS), metadata=MARKETING
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RunBaseAnalytics(pb.RunBaseAnalyticsRequest(batch_size=6000), metadata=ANALYST)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["batch_size"]

    # Without champions the run still fits RFM, clusters and outliers (no lifetime value).
    run = await finished(stub, await stub.RunBaseAnalytics(pb.RunBaseAnalyticsRequest(), metadata=ANALYST))
    summary = await stub.GetBaseAnalytics(pb.GetBaseAnalyticsRequest(), metadata=ANALYST)
    assert summary.run_id == run.result_ref and not summary.HasField("clv") and summary.k >= 2
    frame = running.profile.frame(service_base().months)
    active = frame[frame["status"] == "ACTIVE"]
    calm = active[active["days_overdue"] == 0]["customer_id"].iloc[0]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ReviewOutlier(
            pb.ReviewOutlierRequest(customer_id=calm, decision=pb.REVIEW_DECISION_CONFIRM), metadata=ANALYST
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # A token of another listing is refused.
    first = await stub.ListOutliers(pb.ListOutliersRequest(page=common_pb2.PageRequest(page_size=1)), metadata=ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListOutliers(
            pb.ListOutliersRequest(
                page=common_pb2.PageRequest(page_token=first.page.next_page_token), include_dismissed=True
            ),
            metadata=ANALYST,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["page.page_token"]
