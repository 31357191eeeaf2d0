"""Next-best-offer, degraded mode, campaigns with event-triggered proposals, campaign
metrics and policy simulation over real gRPC (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.contact.domain import bandit
from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360.profile.v1 import profile_pb2
from telco360_runtime.testing import wait_until

INBOUND = pb.CHANNEL_INBOUND_OFFER


def free_account(keys: list[str], prefix: str = "N") -> str:
    period = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    for n in range(1000):
        customer = f"{prefix}{n}"
        if not any(bandit.in_control_group(customer, k, period, 0.1) for k in keys):
            return customer
    raise AssertionError("no account outside every control group")


@pytest.fixture
async def env(db_url):
    profile, profile_server, scoring, scoring_server = await start_peers()
    node = await start_contact(
        db_url,
        f"127.0.0.1:{profile_server.port}",
        f"127.0.0.1:{scoring_server.port}",
        peer_retry_seconds=60.0,
        context_ttl_seconds=0.0,
        stats_ttl_seconds=0.0,
    )
    await node.stub.CreatePolicy(
        pb.CreatePolicyRequest(
            policy=pb.ContactPolicy(
                policy_id="base",
                name="base",
                active=True,
                cool_downs=[
                    pb.CoolDown(
                        cool_down_id="declined",
                        triggers=[pb.OUTCOME_KIND_DECLINED],
                        scope=pb.COOL_DOWN_SCOPE_SAME_OFFER,
                        duration=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=30),
                    )
                ],
                purpose_classes=[
                    pb.PurposeClass(purpose=pb.PURPOSE_MARKETING),
                    pb.PurposeClass(purpose=pb.PURPOSE_RETENTION),
                ],
            )
        )
    )
    for offer in (
        pb.Offer(
            offer_id="upsell",
            name="More bandwidth",
            category=pb.OFFER_CATEGORY_UPSELL,
            value_fen=100_000,
            cost_fen=1_000,
            channels=[INBOUND, pb.CHANNEL_SMS],
            active=True,
        ),
        pb.Offer(
            offer_id="retain",
            name="Renewal discount",
            category=pb.OFFER_CATEGORY_RETENTION,
            value_fen=50_000,
            cost_fen=500,
            channels=[INBOUND, pb.CHANNEL_SMS],
            active=True,
        ),
        pb.Offer(
            offer_id="cloud",
            name="Cloud desktop",
            category=pb.OFFER_CATEGORY_CROSS_SELL,
            value_fen=90_000,
            channels=[INBOUND],
            active=True,
            eligibility="tag(cloud_fit)",
        ),
    ):
        await node.stub.CreateOffer(pb.CreateOfferRequest(offer=offer))
    yield node, profile, profile_server, scoring, scoring_server
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def nbo(stub, customer: str, channel: int = INBOUND) -> pb.GetNextBestOfferResponse:
    return await stub.GetNextBestOffer(
        pb.GetNextBestOfferRequest(
            customer_id=customer,
            channel=channel,
            exploit_only=True,
            context=pb.InteractionContext(kind=pb.INTERACTION_KIND_INBOUND_CALL, reason="bill_query"),
        )
    )


async def test_next_best_offer_ranking_suppression_and_outcomes(env):
    node, profile, _, scoring, _ = env
    customer = free_account(["upsell", "retain", "cloud"])
    profile.accounts[customer] = AccountFacts(tier=1)
    scoring.scores[customer] = (0.6, 3, 90_000_000)
    answer = await nbo(node.stub, customer)
    assert not answer.degraded
    assert [o.offer_id for o in answer.offers] == ["retain", "upsell"]
    assert answer.offers[0].retention_boost == pytest.approx(2.2)
    assert answer.risk_band == common_pb2.RISK_BAND_HIGH
    assert {s.offer_id: s.reason for s in answer.suppressed} == {"cloud": pb.SUPPRESSION_REASON_NOT_ELIGIBLE}
    # Shown to the agent, offered, declined: only the answer starts the cool-down, and the
    # presentation stops the other touchpoints.
    for kind, key in ((pb.OUTCOME_KIND_SHOWN_TO_AGENT, "o1"), (pb.OUTCOME_KIND_OFFERED, "o2")):
        await node.stub.RecordOutcome(
            pb.RecordOutcomeRequest(
                outcome=pb.Outcome(
                    customer_id=customer, channel=INBOUND, offer_id="retain", kind=kind, idempotency_key=key
                )
            )
        )
    again = await nbo(node.stub, customer)
    assert [o.offer_id for o in again.offers] == ["retain", "upsell"]
    sms = await nbo(node.stub, customer, pb.CHANNEL_SMS)
    assert {s.offer_id: s.reason for s in sms.suppressed}["retain"] == pb.SUPPRESSION_REASON_PRESENTED_ELSEWHERE
    declined = pb.Outcome(
        customer_id=customer, channel=INBOUND, offer_id="retain", kind=pb.OUTCOME_KIND_DECLINED, idempotency_key="o3"
    )
    first = await node.stub.RecordOutcome(pb.RecordOutcomeRequest(outcome=declined))
    retry = await node.stub.RecordOutcome(pb.RecordOutcomeRequest(outcome=declined))
    assert first.outcome_id == retry.outcome_id
    after = await nbo(node.stub, customer)
    assert [o.offer_id for o in after.offers] == ["upsell"]
    assert {s.offer_id: s.reason for s in after.suppressed}["retain"] == pb.SUPPRESSION_REASON_COOL_DOWN
    # The decline was learned for the segment (one answer, never double-counted by the retry).
    peer = free_account(["upsell", "retain", "cloud"], "M")
    profile.accounts[peer] = AccountFacts(tier=1)
    scoring.scores[peer] = (0.6, 3, 90_000_000)
    learned = {o.offer_id: o for o in (await nbo(node.stub, peer)).offers}
    assert any("0 accepted, 1 declined" in r for r in learned["retain"].reasons)
    # Eligibility follows the tags profile reports (evaluated locally, no segment query).
    profile.accounts[customer].tags.add("cloud_fit")
    assert "cloud" in [o.offer_id for o in (await nbo(node.stub, customer)).offers]


async def test_degraded_when_scoring_is_down_never_blocks(env):
    node, profile, _, scoring, scoring_server = env
    customer = free_account(["upsell", "retain", "cloud"])
    profile.accounts[customer] = AccountFacts(tier=1)
    await scoring_server.stop()
    answer = await nbo(node.stub, customer)
    assert answer.degraded
    assert any(r.startswith("scoring unavailable") for r in answer.degraded_reasons)
    assert [o.offer_id for o in answer.offers] == ["upsell", "retain"]
    assert all(o.retention_boost == 1.0 for o in answer.offers)
    assert answer.risk_band == common_pb2.RISK_BAND_UNSPECIFIED


async def test_degraded_when_profile_is_down_is_conservative(env):
    node, profile, profile_server, scoring, _ = env
    customer = free_account(["upsell", "retain", "cloud"])
    scoring.scores[customer] = (0.05, 1, 1_000)
    await profile_server.stop()
    answer = await nbo(node.stub, customer)
    assert answer.degraded
    reasons = {s.offer_id: s.reason for s in answer.suppressed}
    assert reasons["cloud"] == pb.SUPPRESSION_REASON_UNKNOWN_ELIGIBILITY
    assert [o.offer_id for o in answer.offers] == ["upsell", "retain"]


async def test_eligibility_is_evaluated_locally_over_features_tags_and_live_score(env):
    node, profile, _, scoring, _ = env
    for offer in (
        pb.Offer(
            offer_id="big-spender",
            name="Big",
            category=pb.OFFER_CATEGORY_UPSELL,
            value_fen=300_000,
            channels=[INBOUND],
            active=True,
            eligibility="fee_total_last_month >= 100000 and tag(cloud_fit)",
        ),
        pb.Offer(
            offer_id="at-risk",
            name="Risk",
            category=pb.OFFER_CATEGORY_RETENTION,
            value_fen=200_000,
            channels=[INBOUND],
            active=True,
            eligibility="churn_probability > 0.5",
        ),
        # Accepted when created, but no longer valid against profile's schema.
        pb.Offer(
            offer_id="stale-rule",
            name="Stale",
            category=pb.OFFER_CATEGORY_UPSELL,
            value_fen=10_000,
            channels=[INBOUND],
            active=True,
            eligibility="attr.gone = 'x'",
        ),
    ):
        await node.stub.CreateOffer(pb.CreateOfferRequest(offer=offer))
    keys = ["upsell", "retain", "cloud", "big-spender", "at-risk", "stale-rule"]
    customer = free_account(keys)
    profile.accounts[customer] = AccountFacts(
        tier=1,
        tags={"cloud_fit"},
        features={"status": "ACTIVE", "fee_total_last_month": 150_000.0, "churn_probability": 0.1},
    )
    # Profile's recorded churn probability is 0.1; scoring's live answer (0.7) is what counts.
    scoring.scores[customer] = (0.7, 3, 90_000_000)
    answer = await nbo(node.stub, customer)
    ranked = [o.offer_id for o in answer.offers]
    suppressed = {s.offer_id: s.reason for s in answer.suppressed}
    assert set(ranked[:2]) == {"big-spender", "at-risk"}
    assert suppressed["cloud"] == pb.SUPPRESSION_REASON_RANKED_OUT
    assert suppressed["stale-rule"] == pb.SUPPRESSION_REASON_UNKNOWN_ELIGIBILITY
    assert any("attr.gone" in r for r in answer.degraded_reasons)
    # A terminated account matches no expression, as in profile's segments.
    profile.accounts[customer].features["status"] = "TERMINATED"
    after = {s.offer_id: s.reason for s in (await nbo(node.stub, customer)).suppressed}
    assert after["cloud"] == after["big-spender"] == pb.SUPPRESSION_REASON_NOT_ELIGIBLE
    # The schema is fetched once and cached; no segment query is ever made.
    assert profile.schema_calls == 1


async def test_profile_down_after_a_call_uses_cached_facts_marked_degraded(env):
    node, profile, profile_server, scoring, _ = env
    customer = free_account(["upsell", "retain", "cloud"])
    profile.accounts[customer] = AccountFacts(tier=1, tags={"cloud_fit"})
    scoring.scores[customer] = (0.05, 1, 1_000)
    assert "cloud" in [o.offer_id for o in (await nbo(node.stub, customer)).offers]
    await profile_server.stop()
    answer = await nbo(node.stub, customer)
    assert answer.degraded and any("profile unavailable" in r and "cached" in r for r in answer.degraded_reasons)
    assert "cloud" in [o.offer_id for o in answer.offers]


async def test_event_triggered_campaign_proposals_and_metrics(env):
    node, profile, _, scoring, _ = env
    campaign = pb.Campaign(
        campaign_id="fee-drop",
        name="Fee-drop early warning",
        target="tag(fee_drop_warning)",
        triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED, tag="fee_drop_warning")],
        touchpoints=[pb.CHANNEL_SMS],
        offer_ids=["retain"],
        purpose=pb.PURPOSE_RETENTION,
        contact_cost_fen=10,
        state=pb.CAMPAIGN_STATE_ACTIVE,
        control_group_bp=1000,
    )
    created = await node.stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign))
    assert created.version == 1 and created.state == pb.CAMPAIGN_STATE_ACTIVE
    accounts = [f"F{n}" for n in range(30)]
    for account in accounts:
        profile.accounts[account] = AccountFacts(tags={"fee_drop_warning"})
        await node.stub.SetConsent(
            pb.SetConsentRequest(consent=pb.Consent(customer_id=account, granted=True, source="contract"))
        )
    states = {}
    for account in accounts:
        event = pb.AccountEvent(
            event_id=f"ev-{account}",
            source="profile",
            customer_id=account,
            kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED,
            tag="fee_drop_warning",
        )
        reply = await node.stub.SubmitAccountEvent(pb.SubmitAccountEventRequest(event=event))
        (proposal,) = reply.proposals
        states[account] = proposal
        replay = await node.stub.SubmitAccountEvent(pb.SubmitAccountEventRequest(event=event))
        assert replay.replayed and not replay.proposals
    control = [a for a, p in states.items() if p.state == pb.PROPOSAL_STATE_CONTROL]
    proposed = [a for a, p in states.items() if p.state == pb.PROPOSAL_STATE_PROPOSED]
    assert control and proposed and len(control) + len(proposed) == len(accounts)
    assert all(states[a].channel == pb.CHANNEL_SMS and states[a].offer_id == "retain" for a in proposed)
    # Contact the proposed accounts, some accept; one control account orders on its own.
    for i, account in enumerate(proposed):
        reserved = await node.stub.ReserveContact(
            pb.ReserveContactRequest(
                idempotency_key=f"fd-{account}",
                contact=pb.CheckContactRequest(
                    customer_id=account,
                    channel=pb.CHANNEL_SMS,
                    purpose=pb.PURPOSE_RETENTION,
                    campaign_id="fee-drop",
                    offer_id="retain",
                ),
            )
        )
        assert reserved.granted, reserved.decision.blocking
        await node.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=reserved.reservation.reservation_id))
        if i % 2 == 0:
            await node.stub.RecordOutcome(
                pb.RecordOutcomeRequest(
                    outcome=pb.Outcome(
                        customer_id=account,
                        channel=pb.CHANNEL_SMS,
                        offer_id="retain",
                        campaign_id="fee-drop",
                        kind=pb.OUTCOME_KIND_ACCEPTED,
                    )
                )
            )
    await node.stub.RecordOutcome(
        pb.RecordOutcomeRequest(
            outcome=pb.Outcome(customer_id=control[0], offer_id="retain", kind=pb.OUTCOME_KIND_ACCEPTED)
        )
    )
    metrics = await node.stub.GetCampaignMetrics(pb.GetCampaignMetricsRequest(campaign_id="fee-drop"))
    accepted = (len(proposed) + 1) // 2
    assert metrics.accounts_targeted == 30
    assert metrics.control_accounts == len(control) and metrics.control_accepted == 1
    assert metrics.accounts_contacted == len(proposed) and metrics.contacts == len(proposed)
    assert metrics.accepted == accepted
    assert metrics.conversion_rate == pytest.approx(accepted / len(proposed))
    assert metrics.uplift == pytest.approx(accepted / len(proposed) - 1 / len(control))
    assert metrics.cost_fen == len(proposed) * 10 + accepted * 500
    assert metrics.value_fen == accepted * 50_000
    # Pausing takes effect at once: no proposal for the next event.
    await node.stub.PauseCampaign(pb.PauseCampaignRequest(campaign_id="fee-drop"))
    reply = await node.stub.SubmitAccountEvent(
        pb.SubmitAccountEventRequest(
            event=pb.AccountEvent(
                event_id="late",
                source="profile",
                customer_id=accounts[0],
                kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED,
                tag="fee_drop_warning",
            )
        )
    )
    assert not reply.proposals
    resumed = await node.stub.ResumeCampaign(pb.ResumeCampaignRequest(campaign_id="fee-drop"))
    assert resumed.state == pb.CAMPAIGN_STATE_ACTIVE and resumed.spent_fen == len(proposed) * 10 + accepted * 500
    listed = await node.stub.ListProposals(
        pb.ListProposalsRequest(campaign_id="fee-drop", state=pb.PROPOSAL_STATE_CONTROL)
    )
    assert len(listed.proposals) == len(control)


async def test_simulate_policy_directly_and_as_a_job(env):
    node, profile, _, _, _ = env
    profile.accounts["S1"] = AccountFacts()
    await node.stub.SetConsent(pb.SetConsentRequest(consent=pb.Consent(customer_id="S1", granted=True, source="x")))
    for n in range(4):
        reserved = await node.stub.ReserveContact(
            pb.ReserveContactRequest(
                idempotency_key=f"s{n}",
                contact=pb.CheckContactRequest(customer_id="S1", channel=pb.CHANNEL_SMS, purpose=pb.PURPOSE_MARKETING),
            )
        )
        await node.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=reserved.reservation.reservation_id))
    draft = pb.ContactPolicy(
        policy_id="base",
        name="stricter",
        caps=[
            pb.FrequencyCap(
                cap_id="sms",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[pb.CHANNEL_SMS],
                max_contacts=1,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            )
        ],
        purpose_classes=[pb.PurposeClass(purpose=pb.PURPOSE_MARKETING)],
    )
    now = dt.datetime.now(dt.UTC)
    request = pb.SimulatePolicyRequest(draft=draft)
    request.period_start.FromDatetime(now - dt.timedelta(days=1))
    request.period_end.FromDatetime(now + dt.timedelta(hours=1))
    direct = await node.stub.SimulatePolicy(request)
    assert direct.WhichOneof("result_or_job") == "result"
    assert (direct.result.contacts_replayed, direct.result.contacts_suppressed) == (4, 3)
    assert direct.result.suppressed_by_rule[0].rule_id == "base/sms"
    request.run_as_job = True
    started = await node.stub.SimulatePolicy(request)
    assert started.WhichOneof("result_or_job") == "job"

    async def finished() -> common_pb2.Job | None:
        job = await node.stub.GetJob(common_pb2.GetJobRequest(job_id=started.job.job_id))
        return job if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED) else None

    job = await wait_until(finished, timeout=10, message="simulation job did not finish")
    assert job.state == common_pb2.JOB_STATE_SUCCEEDED, job.error_message
    result = await node.stub.GetSimulationResult(pb.GetSimulationResultRequest(job_id=started.job.job_id))
    assert result.contacts_suppressed == 3 and result.months[0].per_account_after == 1.0


async def test_profile_events_trigger_campaigns_with_a_durable_cursor(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    peers = (f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    node = await start_contact(db_url, *peers, follow_profile_events=True)
    try:
        await node.stub.CreateOffer(
            pb.CreateOfferRequest(
                offer=pb.Offer(
                    offer_id="care",
                    name="Health check",
                    category=pb.OFFER_CATEGORY_SERVICE_CARE,
                    value_fen=1_000,
                    channels=[pb.CHANNEL_VISIT],
                    active=True,
                )
            )
        )
        await node.stub.CreateCampaign(
            pb.CreateCampaignRequest(
                campaign=pb.Campaign(
                    campaign_id="risk",
                    name="Risk raised",
                    state=pb.CAMPAIGN_STATE_ACTIVE,
                    purpose=pb.PURPOSE_RETENTION,
                    triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_RISK_BAND_RAISED)],
                    touchpoints=[pb.CHANNEL_VISIT],
                    offer_ids=["care"],
                )
            )
        )
        customer = free_account(["risk", "care"], "R")
        profile.accounts[customer] = AccountFacts()
        profile.events.append(
            profile_pb2.AccountEvent(
                sequence=1,
                customer_id=customer,
                type=profile_pb2.ACCOUNT_EVENT_TYPE_RISK_BAND_CHANGED,
                previous_risk_band=common_pb2.RISK_BAND_LOW,
                risk_band=common_pb2.RISK_BAND_HIGH,
            )
        )
        profile.events.append(
            profile_pb2.AccountEvent(
                sequence=2,
                customer_id=customer,
                type=profile_pb2.ACCOUNT_EVENT_TYPE_RISK_BAND_CHANGED,
                previous_risk_band=common_pb2.RISK_BAND_HIGH,
                risk_band=common_pb2.RISK_BAND_LOW,
            )
        )

        async def proposed() -> pb.ListProposalsResponse | None:
            listed = await node.stub.ListProposals(pb.ListProposalsRequest(campaign_id="risk"))
            return listed if listed.proposals else None

        listed = await wait_until(proposed, timeout=10, message="no proposal for the raised risk band")
        (proposal,) = listed.proposals
        assert proposal.state == pb.PROPOSAL_STATE_PROPOSED and proposal.channel == pb.CHANNEL_VISIT
        assert proposal.event.source == "profile" and proposal.event.event_id == "1"
    finally:
        await node.close()
        await profile_server.stop()
        await scoring_server.stop()
    # A restarted replica resumes after the stored cursor: nothing is proposed twice.
    profile_server2 = await profile_server.start()
    watches_before = len(profile.watched_after)
    node = await start_contact(db_url, profile_server2, peers[1], follow_profile_events=True)
    try:
        # A marker event after the old ones: once it is proposed, events 1 and 2 would have
        # been handled again by now had the replica not resumed after the stored cursor.
        marker = free_account(["risk", "care"], "M")
        profile.accounts[marker] = AccountFacts()
        profile.events.append(
            profile_pb2.AccountEvent(
                sequence=3,
                customer_id=marker,
                type=profile_pb2.ACCOUNT_EVENT_TYPE_RISK_BAND_CHANGED,
                previous_risk_band=common_pb2.RISK_BAND_LOW,
                risk_band=common_pb2.RISK_BAND_HIGH,
            )
        )

        async def marker_proposed() -> pb.ListProposalsResponse | None:
            listed = await node.stub.ListProposals(pb.ListProposalsRequest(campaign_id="risk"))
            return listed if any(p.event.event_id == "3" for p in listed.proposals) else None

        listed = await wait_until(marker_proposed, timeout=10, message="the marker event was not proposed")
        assert sorted(p.event.event_id for p in listed.proposals) == ["1", "3"]
        assert min(profile.watched_after[watches_before:]) >= 1, "the replica read from the start again"
    finally:
        await node.close()
        await profile_server.stop()
