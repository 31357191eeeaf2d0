"""Erasure in scoring (issue #15) through a real server, on SQLite and PostgreSQL.

ApplyErasure deletes an account's batch scores and latest score and leaves a tombstone in
one transaction; a repeat answers the first application's counts and time. While erased,
ScoreAll neither stores nor publishes a score for the account, ScoreCustomers answers it
NOT_FOUND without asking profile and GetStoredScore answers NOT_FOUND. Then every text and
JSON column of every table is scanned for the account's id (the tombstone and the audit
trail, which hold ids by design, excepted). LiftErasure removes the tombstone; only the
service role may call either.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.db import Database, migrate
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings

from .profile_peer import SyntheticProfile
from .test_service import FAST, cut, service_base

TOKENS = {"t-admin": "admin:root", "t-an": "analyst:ana-2", "t-svc": "service:profile"}
ADMIN, ANALYST, SERVICE = ((("authorization", f"Bearer {t}"),) for t in ("t-admin", "t-an", "t-svc"))
#: Tables that name erased accounts by design: the tombstone itself and the audit trail (ids only).
BY_DESIGN = {"erased_accounts", "audit_entries"}


@dataclass
class Running:
    stub: scoring_pb2_grpc.ScoringServiceStub
    audit: audit_pb2_grpc.AuditServiceStub
    profile: SyntheticProfile
    db: Database


@pytest.fixture
async def running(tmp_path: pathlib.Path, db_url: str) -> AsyncIterator[Running]:
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
            yield Running(
                scoring_pb2_grpc.ScoringServiceStub(channel), audit_pb2_grpc.AuditServiceStub(channel), profile, db
            )
    finally:
        await service.stop(1)
        db.dispose()
        await peer.stop(0.5)


async def finished(stub: scoring_pb2_grpc.ScoringServiceStub, job: common_pb2.Job) -> common_pb2.Job:
    for _ in range(1200):
        job = await stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id), metadata=ADMIN)
        if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
            assert job.state == common_pb2.JOB_STATE_SUCCEEDED, job.error_message
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job still {job.state}")


def text_cells(db: Database, skip: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text and JSON cell of every table but `skip`."""
    engine = db.engine
    inspector = sa.inspect(engine)
    out: list[tuple[str, str, str]] = []
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            if table in skip or table == "alembic_version":
                continue
            columns = [
                c["name"]
                for c in inspector.get_columns(table)
                if isinstance(c["type"], sa.String | sa.Text | sa.JSON) or "JSON" in str(c["type"]).upper()
            ]
            if not columns:
                continue
            select = sa.text(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608 - names from the catalogue
            for row in conn.execute(select):
                out.extend((table, col, str(value)) for col, value in zip(columns, row, strict=True) if value)
    return out


def naming(db: Database, ids: list[str]) -> list[tuple[str, str, str]]:
    return [cell for cell in text_cells(db, BY_DESIGN) if any(i in cell[2] for i in ids)]


async def erase(stub: scoring_pb2_grpc.ScoringServiceStub, cid: str, erasure_id: str) -> Any:
    request = common_pb2.ApplyErasureRequest(erasure_id=erasure_id, customer_id=cid)
    return await stub.ApplyErasure(request, metadata=SERVICE)


async def test_erased_accounts_leave_no_scores_and_get_none(running: Running) -> None:
    stub, db = running.stub, running.db
    train = pb.TrainModelRequest(
        kind=pb.MODEL_KIND_CHURN,
        as_of=[cut(m) for m in (12, 15, 18, 21)],
        holdout_as_of=cut(24),
        horizon_months=3,
        parameters=FAST,
    )
    trained = await finished(stub, await stub.TrainModel(train, metadata=ANALYST))
    await stub.PromoteModel(pb.PromoteModelRequest(model_id=trained.result_ref), metadata=ANALYST)
    frame = running.profile.frame(service_base().months)
    first, later, kept = frame[frame["status"] == "ACTIVE"]["customer_id"].tolist()[:3]

    # Erased before any scoring: nothing to remove, and the first batch leaves it out.
    before = await erase(stub, first, "er-1")
    assert before.customer_id == first
    assert dict(before.removed) == {"scores": 0, "latest_scores": 0, "outlier_reviews": 0}
    batch = await finished(stub, await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400), metadata=ANALYST))
    assert batch.message.endswith("; 1 erased accounts skipped")
    published = {s.customer_id for s in running.profile.recorded}
    assert first not in published and later in published and kept in published
    assert naming(db, [first]) == []
    assert naming(db, [later]) != []  # scored and stored: what the scan finds before the erasure

    # Erased after scoring: its batch score and latest score are deleted; a repeat answers the same.
    applied = await erase(stub, later, "er-2")
    assert dict(applied.removed) == {"scores": 1, "latest_scores": 1, "outlier_reviews": 0}
    again = await erase(stub, later, "er-2-retry")
    assert dict(again.removed) == dict(applied.removed) and again.erased_at == applied.erased_at
    assert naming(db, [first, later]) == []

    # Later scoring stores and answers nothing for either.
    running.profile.recorded.clear()
    await finished(stub, await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400), metadata=ANALYST))
    assert {first, later} & {s.customer_id for s in running.profile.recorded} == set()
    assert naming(db, [first, later]) == []
    scores = (
        await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=[later, kept, first]), metadata=SERVICE)
    ).scores
    assert [(s.customer_id, s.status) for s in scores] == [
        (later, pb.SCORE_STATUS_NOT_FOUND),
        (kept, pb.SCORE_STATUS_OK),
        (first, pb.SCORE_STATUS_NOT_FOUND),
    ]
    assert scores[0].error_message == f"customer '{later}' is erased"
    only_erased = await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=[first]), metadata=SERVICE)
    assert [s.status for s in only_erased.scores] == [pb.SCORE_STATUS_NOT_FOUND]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=later), metadata=ANALYST)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "is erased" in (err.value.details() or "")
    stored = await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=kept), metadata=ANALYST)
    assert stored.status == pb.SCORE_STATUS_OK

    # Reactivation lifts the tombstone (once); scores come back only from later scoring.
    lift = common_pb2.LiftErasureRequest(customer_id=later, reason="new contract")
    assert (await stub.LiftErasure(lift, metadata=SERVICE)).lifted is True
    assert (await stub.LiftErasure(lift, metadata=SERVICE)).lifted is False
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=later), metadata=ANALYST)
    assert "has no stored score" in (err.value.details() or "")
    await finished(stub, await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400), metadata=ANALYST))
    back = await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=later), metadata=ANALYST)
    assert back.status == pb.SCORE_STATUS_OK
    with db.session() as s:
        tombstones = s.execute(sa.text("SELECT customer_id FROM erased_accounts")).scalars().all()
    assert tombstones == [first]

    # On the trail: ids and counts, never the reason's text.
    audit = await running.audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=ADMIN)
    rows = [(e.action, list(e.account_ids), e.detail, e.outcome) for e in audit.entries[::-1]]
    erasures = [r for r in rows if r[0] in ("customer.erase", "customer.reactivate")]
    assert erasures == [
        ("customer.erase", [first], "erasure_id=er-1 repeated=False", "OK"),
        ("customer.erase", [later], "erasure_id=er-2 repeated=False", "OK"),
        ("customer.erase", [later], "erasure_id=er-2 repeated=True", "OK"),
        ("customer.reactivate", [later], "lifted=True", "OK"),
        ("customer.reactivate", [later], "lifted=False", "OK"),
    ]
    assert "new contract" not in str(audit)


async def test_only_the_service_role_erases_and_ids_are_required(running: Running) -> None:
    stub = running.stub
    request = common_pb2.ApplyErasureRequest(erasure_id="er-9", customer_id="C1")
    for call, message in (
        (stub.ApplyErasure, request),
        (stub.LiftErasure, common_pb2.LiftErasureRequest(customer_id="C1", reason="r")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(message, metadata=ANALYST)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ApplyErasure(common_pb2.ApplyErasureRequest(customer_id="C1"), metadata=SERVICE)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "erasure_id" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.LiftErasure(common_pb2.LiftErasureRequest(customer_id="C1"), metadata=SERVICE)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in (err.value.details() or "")
    with running.db.session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM erased_accounts")).scalar() == 0
