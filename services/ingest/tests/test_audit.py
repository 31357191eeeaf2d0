"""Ingest's audit trail: quarantine work and log reads by anyone but a peer service are on it,
with the caller and the accounts, never the personal values the records carry; the trail
is append-only in the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa

from services.ingest.app import build_service
from services.ingest.settings import IngestSettings
from services.ingest.store import migrate_store
from services.ingest.store.models import AUDIT
from services.ingest.tests.samples import billing, record
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime import context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database

TOKENS = {"tok-svc": "service:profile", "tok-admin": "admin:steward-1"}
PERSONAL = ("Li Wei", "+8613800138000", "li.wei@example.com")


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def channel(db_url: str) -> AsyncIterator[tuple[grpc.aio.Channel, dict]]:
    migrate_store(db_url)
    db = Database(db_url, workers=4)
    settings = IngestSettings(port=0, host="127.0.0.1", database_url=db_url, auth_tokens=TOKENS, log_poll_seconds=0.2)
    service = build_service(settings, db)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as chan:
            yield chan, service.parts
    finally:
        await service.stop(0)
        db.dispose()


async def entries(chan: grpc.aio.Channel, **filters) -> list[audit_pb2.AuditEntry]:
    stub = audit_pb2_grpc.AuditServiceStub(chan)
    return list(
        (await stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(**filters), metadata=auth("tok-admin"))).entries
    )


async def test_quarantine_and_log_reads_are_audited_without_personal_values(channel) -> None:
    chan, _parts = channel
    stub = ingest_pb2_grpc.IngestServiceStub(chan)
    records = [record("contact", "c-1", customer_id="C-7"), billing(1), billing(2, fee_fen=-1)]
    results = [r async for r in stub.IngestRecords(iter(records), metadata=auth("tok-svc"))]
    rejected = next(r for r in results if r.quarantine_id)

    # The peers' own reads are not audited; a person's are.
    assert len([e async for e in stub.ReadLog(ingest_pb2.ReadLogRequest(), metadata=auth("tok-svc"))]) == 2
    assert await entries(chan) == []
    assert len([e async for e in stub.ReadLog(ingest_pb2.ReadLogRequest(), metadata=auth("tok-admin"))]) == 2
    batches = stub.ReadLogBatches(ingest_pb2.ReadLogRequest(after_sequence=1), metadata=auth("tok-admin"))
    assert sum([len(b.entries) async for b in batches]) == 1
    listing = await stub.ListQuarantine(ingest_pb2.ListQuarantineRequest(), metadata=auth("tok-admin"))
    assert [e.quarantine_id for e in listing.entries] == [rejected.quarantine_id]
    await stub.ReplayQuarantine(
        ingest_pb2.ReplayQuarantineRequest(quarantine_ids=[rejected.quarantine_id]), metadata=auth("tok-admin")
    )

    trail = await entries(chan)
    summary = [
        (e.method.rsplit("/", 1)[-1], e.action, e.subject, e.role, list(e.account_ids), e.outcome) for e in trail
    ]
    assert summary == [
        ("ReplayQuarantine", "quarantine.replay", "steward-1", "admin", [], "OK"),
        ("ListQuarantine", "quarantine.list", "steward-1", "admin", ["C-2"], "OK"),
        ("ReadLogBatches", "log.read", "steward-1", "admin", ["C-1"], "OK"),
        ("ReadLog", "log.read", "steward-1", "admin", ["C-7", "C-1"], "OK"),
    ]
    assert all(e.method.startswith("/telco360.ingest.v1.IngestService/") and e.request_id for e in trail)
    assert trail[0].detail == "ids=1 corrections=0 moved=0 still_rejected=1"
    assert trail[3].detail == "after_sequence=0 follow=False entries=2" and trail[3].account_count == 2
    text = " ".join(str(e) for e in trail)
    assert not [value for value in PERSONAL if value in text]
    assert [e.action for e in await entries(chan, account_id="C-7")] == ["log.read"]


async def test_the_trail_is_append_only(db_url: str) -> None:
    migrate_store(db_url)
    db = Database(db_url, workers=2)
    try:
        trail = AuditTrail(db, AUDIT)
        context.run_detached(trail.record, "log.read", ["C-1"])
        trail.flush()
        for statement in ("UPDATE audit_entries SET subject = 'someone-else'", "DELETE FROM audit_entries"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session() as session:
                session.execute(sa.text(statement))
        assert [e.subject for e in trail.list()] == ["anonymous"]
    finally:
        db.dispose()
