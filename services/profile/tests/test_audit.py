"""Profile's audit trail: every Customer360 and features read, export, segment query, tag rule
change and erasure is an entry naming the caller, the RPC and the accounts; no entry holds a
personal value (account or contact names, phones, e-mails, an expression's literals, an
erasure's reason); the trail is append-only and listed by ListAuditEntries (admin only)."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa

from services.profile.api.common import expression_digest
from services.profile.store import MIGRATIONS_DIR
from services.profile.store.models import AUDIT
from services.profile.tests.harness import feed, start_ingest, start_profile, wait_applied
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database, migrate

TOKENS = {
    "t-admin": "admin:root",
    "t-an": "analyst:ann",
    "t-cc": "call_center:gus",
    "t-svc": "service:contact",
}
REASON = "Li Wei asked us to forget him: +8613800138000"


def meta(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


ADMIN, ANALYST, AGENT, SERVICE = (meta(t) for t in ("t-admin", "t-an", "t-cc", "t-svc"))


@pytest.fixture
async def running(tmp_path):
    ingest, ingest_db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}", auth_tokens=TOKENS)
    accepted = await feed(ingest.address, accounts=4, months=3, token="t-svc")
    identity = tmp_path / "profile.token"
    identity.write_text("t-svc\n")
    service, db, channel, stub = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}",
        ingest_addr=ingest.address,
        contact_addr="127.0.0.1:1",
        scoring_addr="127.0.0.1:1",
        auth_tokens=TOKENS,
        peer_token_file=str(identity),
    )

    class AsService:
        async def GetSyncStatus(self, request):
            return await stub.GetSyncStatus(request, metadata=SERVICE)

    await wait_applied(AsService(), accepted)
    yield stub, channel
    await channel.close()
    await service.stop(0)
    await ingest.stop(0)
    db.dispose()
    ingest_db.dispose()


async def trail(channel, **filters) -> list[audit_pb2.AuditEntry]:
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    answer = await stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(**filters), metadata=ADMIN)
    return list(answer.entries)[::-1]  # oldest first


async def test_reads_exports_queries_and_changes_are_on_the_trail(running) -> None:
    stub, channel = running
    members = (
        await stub.QuerySegment(pb.QuerySegmentRequest(expression="", include_terminated=True), metadata=SERVICE)
    ).members
    ids = sorted(m.customer_id for m in members)
    first, second = ids[0], ids[1]
    # The personal values the base holds, read unmasked (as a service): none may reach the trail.
    personal: set[str] = set()
    for cid in ids:
        view = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=cid), metadata=SERVICE)
        personal |= {view.account.name} | {c.name for c in view.contacts} | {c.phone for c in view.contacts}
        personal |= {c.email for c in view.contacts if c.email}
    personal.discard("")
    assert personal
    before = len(await trail(channel))

    await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=first), metadata=AGENT)
    await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=second, level=pb.VIEW_LEVEL_GROUP), metadata=ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetCustomer360(pb.GetCustomer360Request(customer_id="NO-SUCH"), metadata=AGENT)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    features = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=[first, second]), metadata=ANALYST)
    named = f'attr.name_en != "{sorted(personal)[0]}"'
    exported = [
        b
        async for b in stub.ExportFeatures(
            pb.ExportFeaturesRequest(as_of=features.as_of, include_terminated=True, filter_expression=""),
            metadata=ANALYST,
        )
    ]
    assert sum(len(b.vectors) for b in exported) == len(ids)
    outcomes = [
        b
        async for b in stub.ExportOutcomes(
            pb.ExportOutcomesRequest(from_month="2000-01", to_month="2100-12"), metadata=ANALYST
        )
    ]
    assert sum(len(b.outcomes) for b in outcomes) == len(ids)
    segment = pb.QuerySegmentRequest(expression="fee_total_last_month >= 0", include_terminated=True)
    queried = await stub.QuerySegment(segment, metadata=ANALYST)
    definition = pb.TagDefinition(
        tag_id="spender", display_name="Spender", category="test", enabled=True, expression="fee_total_last_month > 0"
    )
    await stub.CreateTagDefinition(pb.CreateTagDefinitionRequest(definition=definition), metadata=ANALYST)
    definition.expression = "fee_total_last_month > 1"
    await stub.UpdateTagDefinition(
        pb.UpdateTagDefinitionRequest(definition=definition, expected_version=1), metadata=ANALYST
    )
    await stub.DeleteTagDefinition(pb.DeleteTagDefinitionRequest(tag_id="spender"), metadata=ANALYST)
    await stub.EraseCustomer(pb.EraseCustomerRequest(customer_id=ids[-1], reason=REASON), metadata=ADMIN)

    entries = (await trail(channel))[before:]
    rows = [(e.method.rsplit("/", 1)[-1], e.action, e.subject, e.role, list(e.account_ids), e.outcome) for e in entries]
    assert rows == [
        ("GetCustomer360", "customer360.read", "gus", "call_center", [first], "OK"),
        ("GetCustomer360", "customer360.read", "ann", "analyst", [second], "OK"),
        ("GetCustomer360", "customer360.read", "gus", "call_center", ["NO-SUCH"], "NOT_FOUND"),
        ("GetFeatures", "features.read", "ann", "analyst", [first, second], "OK"),
        ("ExportFeatures", "features.export", "ann", "analyst", ids, "OK"),
        ("ExportOutcomes", "outcomes.export", "ann", "analyst", ids, "OK"),
        ("QuerySegment", "segment.query", "ann", "analyst", sorted(m.customer_id for m in queried.members), "OK"),
        ("CreateTagDefinition", "tag_rule.create", "ann", "analyst", [], "OK"),
        ("UpdateTagDefinition", "tag_rule.update", "ann", "analyst", [], "OK"),
        ("DeleteTagDefinition", "tag_rule.delete", "ann", "analyst", [], "OK"),
        ("EraseCustomer", "customer.erase", "root", "admin", [ids[-1]], "OK"),
    ]
    assert all(e.method.startswith("/telco360.profile.v1.ProfileService/") and e.request_id for e in entries)
    details = [e.detail for e in entries]
    assert details[:2] == ["level=account", "level=group"]
    assert details[4] == f"filter=none vectors={len(ids)}" and entries[4].account_count == len(ids)
    assert details[6].startswith(f"expression={expression_digest(segment.expression)} count={queried.count}")
    assert entries[6].account_count == queried.count
    assert details[7:10] == ["tag_id=spender version=1", "tag_id=spender version=2", "tag_id=spender version=3"]
    assert details[10].startswith("purge_facts=False erasure_id=er-") and details[10].endswith(" new")
    text = " ".join(str(e) for e in entries)
    assert [value for value in personal if value in text] == []
    assert REASON not in text and "Li Wei" not in text

    # A segment expression's literals may be personal values: the trail keeps a digest.
    await stub.QuerySegment(pb.QuerySegmentRequest(expression=named), metadata=ANALYST)
    last = (await trail(channel))[-1]
    assert last.action == "segment.query" and sorted(personal)[0] not in last.detail

    assert [e.subject for e in await trail(channel, account_id=first)][-2:] == ["ann", "ann"]
    assert {e.role for e in await trail(channel, subject="gus")} == {"call_center"}
    for caller in (ANALYST, AGENT, SERVICE):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await audit_pb2_grpc.AuditServiceStub(channel).ListAuditEntries(
                audit_pb2.ListAuditEntriesRequest(), metadata=caller
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_trail_is_append_only(db_url: str) -> None:
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=2)
    try:
        audit = AuditTrail(db, AUDIT)
        context.run_detached(audit.record, "customer360.read", ["C1"])
        audit.flush()
        for statement in ("UPDATE audit_entries SET account_ids = '[]'", "DELETE FROM audit_entries"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session() as session:
                session.execute(sa.text(statement))
        assert [e.account_ids for e in audit.list()] == [("C1",)]
    finally:
        db.dispose()
