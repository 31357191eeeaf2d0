"""Integration tests over real gRPC: following ingest, Customer360, tags, segments, events, erasure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy import create_engine, text

from services.profile.tests.harness import feed, start_ingest, start_ingest_unstarted, start_profile, wait_applied
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.testing import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture
async def ingest(tmp_path):
    service, db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}")
    yield service
    await service.stop(0)
    db.dispose()


@pytest.fixture
async def profile(db_url, ingest):
    accepted = await feed(ingest.address, accounts=12, months=8)
    service, db, channel, stub = await start_profile(
        db_url, ingest_addr=ingest.address, contact_addr="127.0.0.1:1", scoring_addr="127.0.0.1:1"
    )
    await wait_applied(stub, accepted)
    yield stub
    await channel.close()
    await service.stop(0)
    db.dispose()


def bad_request(error: grpc.aio.AioRpcError) -> error_details_pb2.BadRequest:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    out = error_details_pb2.BadRequest()
                    detail.Unpack(out)
                    return out
    raise AssertionError("no BadRequest detail")


async def test_customer360_answers_partial_when_dependencies_are_down(profile) -> None:
    view = await profile.GetCustomer360(pb.GetCustomer360Request(customer_id="KA100001"))
    assert view.account.customer_id == "KA100001" and view.account.name
    assert view.spend_trend and view.contacts and view.features["status"].string_value == "ACTIVE"
    assert view.partial and set(view.unavailable) == {"scoring", "contact"}
    group = await profile.GetCustomer360(
        pb.GetCustomer360Request(customer_id=view.group.root_customer_id, level=pb.VIEW_LEVEL_GROUP)
    )
    assert group.level == pb.VIEW_LEVEL_GROUP and len(group.group.member_customer_ids) >= 1
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await profile.GetCustomer360(pb.GetCustomer360Request(customer_id="NOPE"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_features_mark_unknown_accounts_and_export_streams(profile) -> None:
    reply = await profile.GetFeatures(pb.GetFeaturesRequest(customer_ids=["KA100002", "NOPE"]))
    assert [v.found for v in reply.vectors] == [True, False]
    assert reply.vectors[0].features["tenure_months"].number_value >= 0
    batches = [
        b
        async for b in profile.ExportFeatures(
            pb.ExportFeaturesRequest(as_of=reply.as_of, batch_size=5, include_terminated=True)
        )
    ]
    assert batches[0].schema.features and sum(len(b.vectors) for b in batches) == 12
    outcomes = [
        b async for b in profile.ExportOutcomes(pb.ExportOutcomesRequest(from_month="2026-03", to_month="2026-10"))
    ]
    assert sum(len(b.outcomes) for b in outcomes) == 12 and outcomes[0].outcomes[0].months


async def test_tag_definitions_over_grpc(profile) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await profile.CreateTagDefinition(
            pb.CreateTagDefinitionRequest(
                definition=pb.TagDefinition(
                    tag_id="broken", display_name="Broken", category="test", expression="fee_total_last_month >> 3"
                )
            )
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violation = bad_request(info.value).field_violations[0]
    assert violation.field == "definition.expression" and "position 22" in violation.description
    change = await profile.CreateTagDefinition(
        pb.CreateTagDefinitionRequest(
            definition=pb.TagDefinition(
                tag_id="spender",
                display_name="Spender",
                category="test",
                enabled=True,
                expression="fee_total_last_month > 0",
            )
        )
    )
    assert change.definition.version == 1 and change.definition.referenced_names == ["fee_total_last_month"]

    async def succeeded() -> common_pb2.Job | None:
        job = await profile.GetJob(common_pb2.GetJobRequest(job_id=change.job.job_id))
        return job if job.state == common_pb2.JOB_STATE_SUCCEEDED else None

    job = await wait_until(succeeded, timeout=10, message="recompute job did not succeed")
    assert job.done == job.total == 12
    hist = await profile.ListTagHistory(pb.ListTagHistoryRequest(tag_id="spender"))
    assert hist.changes and all(
        c.rule_version == 1 and c.cause == pb.TAG_CHANGE_CAUSE_DEFINITION_CHANGE for c in hist.changes
    )
    seg = await profile.QuerySegment(
        pb.QuerySegmentRequest(expression="tag(spender)", page=common_pb2.PageRequest(page_size=4))
    )
    ids = [m.customer_id for m in seg.members]
    while seg.page.next_page_token:
        seg = await profile.QuerySegment(
            pb.QuerySegmentRequest(
                expression="tag(spender)", page=common_pb2.PageRequest(page_size=4, page_token=seg.page.next_page_token)
            )
        )
        ids += [m.customer_id for m in seg.members]
    assert ids == sorted(set(ids)) and len(ids) == seg.count == len({c.customer_id for c in hist.changes})
    events = [
        e
        async for e in profile.WatchAccountEvents(
            pb.WatchAccountEventsRequest(types=[pb.ACCOUNT_EVENT_TYPE_TAG_ASSIGNED], limit=1000)
        )
    ]
    assert any(e.tag_id == "spender" for e in events)
    valid = await profile.ValidateExpression(pb.ValidateExpressionRequest(expression="visits_90d = 0 and"))
    assert not valid.valid and valid.error_position == 18


async def test_scores_and_erasure_over_grpc(profile) -> None:
    reply = await profile.RecordScores(
        pb.RecordScoresRequest(
            scores=[
                pb.AccountScore(customer_id="KA100003", churn_probability=0.8, risk_band=3, model_version="churn:1")
            ]
        )
    )
    assert reply.accepted == 1 and reply.risk_band_changes == 1
    view = await profile.GetCustomer360(pb.GetCustomer360Request(customer_id="KA100003"))
    assert view.score.risk_band == 3
    erased = await profile.EraseCustomer(pb.EraseCustomerRequest(customer_id="KA100003", reason="request"))
    assert erased.removed["master_data"] == 1
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await profile.GetCustomer360(pb.GetCustomer360Request(customer_id="KA100003"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            cursor = conn.execute(text("SELECT applied_sequence FROM sync_state")).scalar() or 0
            rows = conn.execute(
                text("SELECT (SELECT count(*) FROM billing_facts) + (SELECT count(*) FROM account_facts)")
            ).scalar()
            # Distinct record versions: equal to rows when no entry was applied twice.
            distinct = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM (SELECT DISTINCT source, source_record_id, version"
                    " FROM billing_facts) b)"
                    " + (SELECT count(*) FROM (SELECT DISTINCT source, source_record_id, version FROM account_facts) a)"
                )
            ).scalar()
            return cursor, rows, distinct
    except Exception:  # noqa: BLE001 - the store is not migrated yet
        return 0, 0, 0
    finally:
        engine.dispose()


def _spawn(url: str, ingest_addr: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "TELCO360_PROFILE_PORT": "0",
        "TELCO360_PROFILE_DATABASE_URL": url,
        "TELCO360_PROFILE_INGEST_ADDR": ingest_addr,
        "TELCO360_PROFILE_APPLY_BATCH_SIZE": "25",
        "TELCO360_PROFILE_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.profile"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_cursor_survives_a_kill_mid_stream_without_gaps_or_doubles(ingest, tmp_path) -> None:
    accepted = await feed(ingest.address, accounts=15, months=8)
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    proc = _spawn(url, ingest.address)
    try:
        for _ in range(600):
            cursor, rows, distinct = _counts(url)
            if cursor > 0:
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    cursor, rows, distinct = _counts(url)
    assert 0 < cursor < accepted, "killed mid-stream"
    # What committed is exactly the prefix up to the cursor: one row per applied entry.
    assert rows == distinct == cursor
    proc = _spawn(url, ingest.address)
    try:
        for _ in range(1200):
            if _counts(url)[0] >= accepted:
                break
            await asyncio.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    cursor, rows, distinct = _counts(url)
    assert cursor == accepted and rows == distinct == accepted


async def test_follows_an_older_ingest_without_paged_reads(tmp_path) -> None:
    """An ingest without ReadLogBatches (rolling upgrade) is followed through plain ReadLog."""
    service, ingest_db = await start_ingest_unstarted(f"sqlite:///{tmp_path / 'old-ingest.db'}")
    servicer = service.registrations[0].servicer

    async def unimplemented(request, context) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

    plain_reads: list[int] = []
    read_log = servicer.ReadLog

    def counting_read_log(request, context):
        plain_reads.append(request.after_sequence)
        return read_log(request, context)

    servicer.ReadLogBatches = unimplemented
    servicer.ReadLog = counting_read_log
    await service.start()
    accepted = await feed(service.address, accounts=5, months=4)
    profile_service, db, channel, stub = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}", ingest_addr=service.address
    )
    try:
        await wait_applied(stub, accepted)
        status = await stub.GetSyncStatus(pb.GetSyncStatusRequest())
        assert status.applied_sequence == accepted
        assert plain_reads, "profile fell back to ReadLog"
    finally:
        await channel.close()
        await profile_service.stop(0)
        db.dispose()
        await service.stop(0)
        ingest_db.dispose()


async def test_keeps_serving_while_ingest_is_down(tmp_path) -> None:
    service, db, channel, stub = await start_profile(f"sqlite:///{tmp_path / 'alone.db'}", ingest_addr="127.0.0.1:1")
    try:
        status = await stub.GetSyncStatus(pb.GetSyncStatusRequest())
        assert not status.connected and status.applied_sequence == 0
        schema = await stub.GetFeatureSchema(pb.GetFeatureSchemaRequest())
        assert any(f.name == "fee_total_vs_ref3_pct" for f in schema.features)
        listed = await stub.ListTagDefinitions(pb.ListTagDefinitionsRequest())
        assert {"fee_drop", "value_diamond", "vip"} <= {d.tag_id for d in listed.definitions}
    finally:
        await channel.close()
        await service.stop(0)
        db.dispose()
