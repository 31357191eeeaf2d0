"""Two contact replicas on the same database, many clients racing for the last slots of
the same accounts: no cap is ever exceeded (PostgreSQL, the replicated deployment; and
SQLite, where several processes may share the file)."""

from __future__ import annotations

import asyncio
import random

import pytest
import sqlalchemy as sa

from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb

ACCOUNTS = [f"ACC{i:02d}" for i in range(8)]
SMS_CAP, ALL_CAP = 3, 5


def policy() -> pb.ContactPolicy:
    week = pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7)
    return pb.ContactPolicy(
        policy_id="race",
        name="race",
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms", scope=pb.CAP_SCOPE_ACCOUNT, channels=[pb.CHANNEL_SMS], max_contacts=SMS_CAP, window=week
            ),
            pb.FrequencyCap(cap_id="all", scope=pb.CAP_SCOPE_ACCOUNT, max_contacts=ALL_CAP, window=week),
        ],
        purpose_classes=[pb.PurposeClass(purpose=pb.PURPOSE_MARKETING, requires_consent=False)],
    )


@pytest.fixture
async def replicas(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    for account in ACCOUNTS:
        profile.accounts[account] = AccountFacts()
    peers = (f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    first = await start_contact(db_url, *peers)
    second = await start_contact(db_url, *peers)
    yield first, second, db_url
    await first.close()
    await second.close()
    await profile_server.stop()
    await scoring_server.stop()


async def test_racing_replicas_never_exceed_a_cap(replicas):
    first, second, db_url = replicas
    await first.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()))
    rng = random.Random(7)
    attempts = []
    for account in ACCOUNTS:
        for n in range(12):
            channel = pb.CHANNEL_SMS if n % 3 else pb.CHANNEL_EMAIL
            attempts.append((account, channel, f"{account}-{n}"))
    rng.shuffle(attempts)

    async def attempt(index: int, account: str, channel: int, key: str) -> tuple[str, int, bool]:
        stub = (first if index % 2 else second).stub
        reply = await stub.ReserveContact(
            pb.ReserveContactRequest(
                idempotency_key=key,
                contact=pb.CheckContactRequest(customer_id=account, channel=channel, purpose=pb.PURPOSE_MARKETING),
            )
        )
        return account, channel, reply.granted

    results = await asyncio.gather(*(attempt(i, *a) for i, a in enumerate(attempts)))
    # Retries of every attempt through the other replica are answered from the first result.
    retries = await asyncio.gather(*(attempt(i + 1, *a) for i, a in enumerate(attempts)))
    assert sorted(results) == sorted(retries)
    for account in ACCOUNTS:
        granted = [(ch, ok) for acc, ch, ok in results if acc == account and ok]
        sms = sum(1 for ch, _ in granted if ch == pb.CHANNEL_SMS)
        assert sms <= SMS_CAP and len(granted) <= ALL_CAP
        # The caps were reached, not merely respected: every account had more demand.
        assert len(granted) == ALL_CAP
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT customer_id, channel, COUNT(*) FROM reservations GROUP BY customer_id, channel")
        ).all()
    engine.dispose()
    stored: dict[str, dict[int, int]] = {}
    for customer_id, channel, count in rows:
        stored.setdefault(customer_id, {})[channel] = count
    for account in ACCOUNTS:
        assert stored[account].get(pb.CHANNEL_SMS, 0) <= SMS_CAP
        assert sum(stored[account].values()) == ALL_CAP


async def test_racing_replicas_never_overshoot_a_campaign_budget(replicas):
    """Reservations of different accounts (different account locks) for one campaign: the
    budget check and the insert are atomic, so exactly budget / cost contacts are granted
    and confirming them all spends at most the budget."""
    first, second, _ = replicas
    await first.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()))
    await first.stub.CreateOffer(
        pb.CreateOfferRequest(
            offer=pb.Offer(
                offer_id="o",
                name="o",
                category=pb.OFFER_CATEGORY_UPSELL,
                value_fen=1_000,
                channels=[pb.CHANNEL_SMS],
                active=True,
            )
        )
    )
    await first.stub.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=pb.Campaign(
                campaign_id="budgeted",
                name="budgeted",
                state=pb.CAMPAIGN_STATE_ACTIVE,
                purpose=pb.PURPOSE_MARKETING,
                triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_BILL_ISSUED)],
                touchpoints=[pb.CHANNEL_SMS],
                offer_ids=["o"],
                budget_fen=1_000,
                contact_cost_fen=100,
            )
        )
    )

    async def reserve(index: int, account: str) -> pb.ReserveContactResponse:
        stub = (first if index % 2 else second).stub
        return await stub.ReserveContact(
            pb.ReserveContactRequest(
                idempotency_key=f"budget-{account}-{index}",
                contact=pb.CheckContactRequest(
                    customer_id=account, channel=pb.CHANNEL_SMS, purpose=pb.PURPOSE_MARKETING, campaign_id="budgeted"
                ),
            )
        )

    # Two attempts per account: the account caps allow both, only the budget limits them.
    replies = await asyncio.gather(*(reserve(i, ACCOUNTS[i % len(ACCOUNTS)]) for i in range(16)))
    granted = [r for r in replies if r.granted]
    assert len(granted) == 10
    refused = [r for r in replies if not r.granted]
    assert all("budget would be exceeded" in b.detail for r in refused for b in r.decision.blocking)
    # A cancelled reservation gives its share of the budget back; confirmed ones become spend.
    await first.stub.CancelContact(
        pb.CancelContactRequest(reservation_id=granted[0].reservation.reservation_id, reason="send failed")
    )
    for reply in granted[1:]:
        await second.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=reply.reservation.reservation_id))
    again = await asyncio.gather(*(reserve(100 + i, ACCOUNTS[i]) for i in range(4)))
    assert sum(r.granted for r in again) == 1
    campaign = await first.stub.GetCampaign(pb.GetCampaignRequest(campaign_id="budgeted"))
    assert campaign.spent_fen == 900
