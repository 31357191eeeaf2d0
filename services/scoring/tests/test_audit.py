"""Scoring's audit trail: training, promotion and every computation or read of an account's
scores is an entry naming the caller, the RPC and the accounts (never a table's content);
the trail is append-only and listed by ListAuditEntries (admin only)."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa

from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from services.scoring.store.models import AUDIT
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime import context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database, migrate
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings

from .profile_peer import SyntheticProfile
from .test_service import FAST, cut, service_base

TOKENS = {"t-admin": "admin:root", "t-an": "analyst:ana-2", "t-svc": "service:contact"}
ADMIN, ANALYST, SERVICE = ((("authorization", f"Bearer {t}"),) for t in ("t-admin", "t-an", "t-svc"))
#: A table's cell values (an uploaded table may hold anything): never on the trail.
SECRET = "Li Wei +8613800138000"


@pytest.fixture
async def running(tmp_path: pathlib.Path) -> AsyncIterator[tuple[grpc.aio.Channel, SyntheticProfile]]:
    profile = SyntheticProfile(service_base())
    name = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name
    peer = GrpcService(
        ServiceSettings(service_name="profile", port=0, grace_seconds=0.5),
        [Registration(profile_pb2_grpc.add_ProfileServiceServicer_to_server, profile, name)],
    )
    await peer.start()
    db_url = f"sqlite:///{tmp_path / 'scoring.db'}"
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
            yield channel, profile
    finally:
        await service.stop(1)
        db.dispose()
        await peer.stop(0.5)


async def finished(stub: scoring_pb2_grpc.ScoringServiceStub, job: common_pb2.Job) -> common_pb2.Job:
    for _ in range(1200):
        job = await stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id), metadata=ADMIN)
        if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job still {job.state}")


async def test_models_and_scores_are_on_the_trail(running) -> None:
    channel, profile = running
    stub = scoring_pb2_grpc.ScoringServiceStub(channel)
    train = pb.TrainModelRequest(
        kind=pb.MODEL_KIND_CHURN,
        as_of=[cut(m) for m in (12, 15, 18, 21)],
        holdout_as_of=cut(24),
        horizon_months=3,
        parameters=FAST,
    )
    trained = await finished(stub, await stub.TrainModel(train, metadata=ANALYST))
    assert trained.state == common_pb2.JOB_STATE_SUCCEEDED, trained.error_message
    table = await stub.TrainFromTable(
        pb.TrainFromTableRequest(
            content=f"customer_id,churned,note\nC1,1,{SECRET}\n".encode(),
            format=pb.TABLE_FORMAT_CSV,
            id_column="customer_id",
            label_column="churned",
        ),
        metadata=ANALYST,
    )
    await finished(stub, table)
    await stub.PromoteModel(pb.PromoteModelRequest(model_id=trained.result_ref), metadata=ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.PromoteModel(pb.PromoteModelRequest(model_id="no-such"), metadata=ANALYST)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    frame = profile.frame(service_base().months)
    active = frame[frame["status"] == "ACTIVE"]["customer_id"].tolist()[:3]
    await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=active), metadata=SERVICE)
    batch = await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400, skip_publish=True), metadata=ANALYST)
    assert (await finished(stub, batch)).state == common_pb2.JOB_STATE_SUCCEEDED
    await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=active[0]), metadata=ANALYST)

    audit = audit_pb2_grpc.AuditServiceStub(channel)
    entries = list((await audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=ADMIN)).entries)[::-1]
    rows = [(e.method.rsplit("/", 1)[-1], e.action, e.subject, e.role, list(e.account_ids), e.outcome) for e in entries]
    assert rows == [
        ("TrainModel", "model.train", "ana-2", "analyst", [], "OK"),
        ("TrainFromTable", "model.train_from_table", "ana-2", "analyst", [], "OK"),
        ("PromoteModel", "model.promote", "ana-2", "analyst", [], "OK"),
        ("PromoteModel", "model.promote", "ana-2", "analyst", [], "NOT_FOUND"),
        ("ScoreCustomers", "scores.compute", "contact", "service", active, "OK"),
        ("ScoreAll", "scores.compute_all", "ana-2", "analyst", [], "OK"),
        ("GetStoredScore", "scores.read", "ana-2", "analyst", active[:1], "OK"),
    ]
    assert all(e.method.startswith("/telco360.scoring.v1.ScoringService/") and e.request_id for e in entries)
    assert entries[0].detail == f"kind=MODEL_KIND_CHURN job_id={trained.job_id}"
    assert entries[1].detail == f"table=content job_id={table.job_id}"
    assert entries[2].detail == f"model_id={trained.result_ref}"
    assert entries[5].detail == f"skip_publish=True job_id={batch.job_id}"
    assert SECRET not in " ".join(str(e) for e in entries)
    for caller in (ANALYST, SERVICE):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=caller)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_trail_is_append_only(db_url: str) -> None:
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=2)
    try:
        audit = AuditTrail(db, AUDIT)
        context.run_detached(audit.record, "model.promote", detail="model_id=m1")
        audit.flush()
        for statement in ("UPDATE audit_entries SET detail = ''", "DELETE FROM audit_entries"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session() as session:
                session.execute(sa.text(statement))
        assert [e.detail for e in audit.list()] == ["model_id=m1"]
    finally:
        db.dispose()
