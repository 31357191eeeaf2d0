"""Contact's audit trail: every decision (next-best-offer, check, reserve, confirm, cancel,
outcome) and every change of a policy, offer, campaign, opt-out, consent or counter is an
entry naming the caller, the RPC and the account, with no personal value from the request;
the trail is append-only and listed by ListAuditEntries (admin only)."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa

from services.contact.store.models import AUDIT
from services.contact.store.paths import MIGRATIONS_DIR
from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime import context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.db import Database, migrate

SMS, INBOUND, MARKETING = pb.CHANNEL_SMS, pb.CHANNEL_INBOUND_OFFER, pb.PURPOSE_MARKETING
TOKENS = {"t-admin": "admin:root", "t-cc": "call_center:agent-7", "t-mk": "marketing:mk-1"}
#: Free text a caller may type into a request: none of it may reach the trail.
PERSONAL = ("Li Wei", "+8613800138000", "li.wei@example.com")
NOTE = "Li Wei asked, call back on +8613800138000 or li.wei@example.com"


def meta(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


ADMIN, AGENT, MARKETER = meta("t-admin"), meta("t-cc"), meta("t-mk")


def policy(description: str = "") -> pb.ContactPolicy:
    return pb.ContactPolicy(
        policy_id="base",
        name="Base policy",
        description=description,
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms-7d",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[SMS],
                max_contacts=1000,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            )
        ],
        purpose_classes=[pb.PurposeClass(purpose=MARKETING, requires_consent=False)],
    )


def offer(description: str = "") -> pb.Offer:
    return pb.Offer(
        offer_id="upsell",
        name="More bandwidth",
        description=description,
        category=pb.OFFER_CATEGORY_UPSELL,
        value_fen=100_000,
        cost_fen=1_000,
        channels=[INBOUND, SMS],
        active=True,
    )


def campaign(description: str = "") -> pb.Campaign:
    return pb.Campaign(
        campaign_id="bill",
        name="Bill issued",
        description=description,
        state=pb.CAMPAIGN_STATE_ACTIVE,
        purpose=MARKETING,
        triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_BILL_ISSUED)],
        touchpoints=[SMS],
        offer_ids=["upsell"],
        contact_cost_fen=10,
    )


def check(customer_id: str = "A1") -> pb.CheckContactRequest:
    return pb.CheckContactRequest(customer_id=customer_id, channel=SMS, purpose=MARKETING)


@pytest.fixture
async def env(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    profile.accounts["A1"] = AccountFacts(persons={"P1": ""})
    node = await start_contact(
        db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}", auth_tokens=TOKENS
    )
    yield node
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def trail(node, **filters) -> list[audit_pb2.AuditEntry]:
    stub = audit_pb2_grpc.AuditServiceStub(node.channel)
    entries: list[audit_pb2.AuditEntry] = []
    token = ""
    while True:
        page = common_pb2.PageRequest(page_size=5, page_token=token)
        answer = await stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(page=page, **filters), metadata=ADMIN)
        entries.extend(answer.entries)
        token = answer.page.next_page_token
        if not token:
            return entries[::-1]  # oldest first


async def test_every_decision_and_change_is_on_the_trail(env) -> None:
    stub = env.stub
    await stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()), metadata=MARKETER)
    await stub.UpdatePolicy(pb.UpdatePolicyRequest(policy=policy(NOTE), expected_version=1), metadata=MARKETER)
    await stub.CreateOffer(pb.CreateOfferRequest(offer=offer()), metadata=MARKETER)
    await stub.UpdateOffer(pb.UpdateOfferRequest(offer=offer(NOTE), expected_version=1), metadata=MARKETER)
    await stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign()), metadata=MARKETER)
    await stub.UpdateCampaign(pb.UpdateCampaignRequest(campaign=campaign(NOTE), expected_version=1), metadata=MARKETER)
    await stub.PauseCampaign(pb.PauseCampaignRequest(campaign_id="bill"), metadata=MARKETER)
    await stub.ResumeCampaign(pb.ResumeCampaignRequest(campaign_id="bill"), metadata=MARKETER)

    nbo = await stub.GetNextBestOffer(
        pb.GetNextBestOfferRequest(customer_id="A1", channel=INBOUND, exploit_only=True), metadata=AGENT
    )
    checked = await stub.CheckContact(check(), metadata=AGENT)
    held = [
        await stub.ReserveContact(pb.ReserveContactRequest(idempotency_key=f"k{i}", contact=check()), metadata=AGENT)
        for i in range(2)
    ]
    kept, dropped = (h.reservation.reservation_id for h in held)
    await stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=kept), metadata=AGENT)
    await stub.CancelContact(pb.CancelContactRequest(reservation_id=dropped, reason=NOTE), metadata=AGENT)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id="no-such"), metadata=AGENT)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    outcome = await stub.RecordOutcome(
        pb.RecordOutcomeRequest(
            outcome=pb.Outcome(
                customer_id="A1", channel=SMS, kind=pb.OUTCOME_KIND_ACCEPTED, offer_id="upsell", idempotency_key="o1"
            )
        ),
        metadata=AGENT,
    )
    opt_out = await stub.SetOptOut(
        pb.SetOptOutRequest(
            opt_out=pb.OptOut(
                customer_id="A1", kind=pb.OPT_OUT_KIND_DO_NOT_DISTURB, reason=NOTE, source=NOTE, channels=[SMS]
            )
        ),
        metadata=AGENT,
    )
    await stub.RemoveOptOut(pb.RemoveOptOutRequest(opt_out_id=opt_out.opt_out_id, reason=NOTE), metadata=ADMIN)
    consent = await stub.SetConsent(
        pb.SetConsentRequest(consent=pb.Consent(customer_id="A1", granted=True, source=NOTE)), metadata=AGENT
    )
    adjusted = await stub.AdjustCounter(pb.AdjustCounterRequest(scope=check(), delta=1, reason=NOTE), metadata=ADMIN)

    entries = await trail(env)
    rows = [(e.method.rsplit("/", 1)[-1], e.action, e.subject, e.role, list(e.account_ids), e.outcome) for e in entries]
    A1 = ["A1"]
    assert rows == [
        ("CreatePolicy", "policy.create", "mk-1", "marketing", [], "OK"),
        ("UpdatePolicy", "policy.update", "mk-1", "marketing", [], "OK"),
        ("CreateOffer", "offer.create", "mk-1", "marketing", [], "OK"),
        ("UpdateOffer", "offer.update", "mk-1", "marketing", [], "OK"),
        ("CreateCampaign", "campaign.create", "mk-1", "marketing", [], "OK"),
        ("UpdateCampaign", "campaign.update", "mk-1", "marketing", [], "OK"),
        ("PauseCampaign", "campaign.pause", "mk-1", "marketing", [], "OK"),
        ("ResumeCampaign", "campaign.resume", "mk-1", "marketing", [], "OK"),
        ("GetNextBestOffer", "nbo.decide", "agent-7", "call_center", A1, "OK"),
        ("CheckContact", "contact.check", "agent-7", "call_center", A1, "OK"),
        ("ReserveContact", "contact.reserve", "agent-7", "call_center", A1, "OK"),
        ("ReserveContact", "contact.reserve", "agent-7", "call_center", A1, "OK"),
        ("ConfirmContact", "contact.confirm", "agent-7", "call_center", A1, "OK"),
        ("CancelContact", "contact.cancel", "agent-7", "call_center", A1, "OK"),
        ("ConfirmContact", "contact.confirm", "agent-7", "call_center", [], "NOT_FOUND"),
        ("RecordOutcome", "outcome.record", "agent-7", "call_center", A1, "OK"),
        ("SetOptOut", "optout.set", "agent-7", "call_center", A1, "OK"),
        ("RemoveOptOut", "optout.remove", "root", "admin", A1, "OK"),
        ("SetConsent", "consent.set", "agent-7", "call_center", A1, "OK"),
        ("AdjustCounter", "counter.adjust", "root", "admin", A1, "OK"),
    ]
    assert all(e.method.startswith("/telco360.contact.v1.ContactService/") and e.request_id for e in entries)
    details = [e.detail for e in entries]
    assert details[1] == "policy_id=base version=2" and details[7] == "campaign_id=bill"
    assert f"decision_id={nbo.decision_id} " in details[8]
    assert details[9] == f"decision_id={checked.decision_id} allowed=True blocked_by="
    assert details[10].endswith(f"reservation_id={kept} replayed=False")
    assert details[15].startswith(f"outcome_id={outcome.outcome_id} kind=ACCEPTED offer_id=upsell")
    assert details[16] == f"opt_out_id={opt_out.opt_out_id} kind=DO_NOT_DISTURB"
    assert details[18].startswith(f"consent_id={consent.consent_id} granted=True")
    assert details[19] == f"adjustment_id={adjusted.entry_id} delta=1"
    text = " ".join(str(e) for e in entries)
    assert [value for value in PERSONAL if value in text] == []

    # The contact service keeps its own records of adjustments and policy versions as before.
    ledger = await stub.ListLedger(pb.ListLedgerRequest(customer_id="A1"), metadata=ADMIN)
    assert [e.actor for e in ledger.entries if e.kind == pb.LEDGER_ENTRY_KIND_ADJUSTMENT][0].startswith("root (admin)")
    assert (await stub.GetPolicy(pb.GetPolicyRequest(policy_id="base", version=1), metadata=ADMIN)).version == 1

    by_account = await trail(env, account_id="A1")
    assert len(by_account) == 11 and {e.account_ids[0] for e in by_account} == {"A1"}
    assert {e.subject for e in await trail(env, subject="root")} == {"root"}


async def test_only_admin_lists_the_trail(env) -> None:
    stub = audit_pb2_grpc.AuditServiceStub(env.channel)
    for caller in (AGENT, MARKETER):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=caller)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_trail_is_append_only(db_url) -> None:
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=2)
    try:
        audit = AuditTrail(db, AUDIT)
        context.run_detached(audit.record, "contact.check", ["A1"])
        audit.flush()
        for statement in ("UPDATE audit_entries SET role = 'admin'", "DELETE FROM audit_entries"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session() as session:
                session.execute(sa.text(statement))
        assert [e.action for e in audit.list()] == ["contact.check"]
    finally:
        db.dispose()
