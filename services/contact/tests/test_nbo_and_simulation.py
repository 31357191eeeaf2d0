"""Next-best-offer ranking and suppression reasons, Thompson sampling, control groups,
campaign proposals, and policy simulation numbers on crafted history (domain level)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from services.contact.domain import bandit, nbo
from services.contact.domain.campaigns import AccountEvent, propose, triggered_by
from services.contact.domain.model import (
    AccountEventKind,
    AccountHistory,
    Campaign,
    CampaignState,
    CampaignTrigger,
    Channel,
    CoolDown,
    CoolDownScope,
    Offer,
    OfferCategory,
    OutcomeEvent,
    OutcomeKind,
    ProposalState,
    QuietHours,
    RiskBand,
    RuleKind,
    SuppressionReason,
)
from services.contact.domain.simulation import AccountRecords, ReplayContact, simulate
from services.contact.tests.factories import UTC, at, cap, contact, context, policy, rolling

ALL = frozenset(Channel)
OFFERS = [
    Offer("a-upsell", "Upsell", OfferCategory.UPSELL, ALL, value_fen=100_000, cost_fen=1_000),
    Offer("b-retain", "Retention", OfferCategory.RETENTION, ALL, value_fen=50_000, cost_fen=500),
    Offer("c-eligible-only", "Cloud", OfferCategory.CROSS_SELL, ALL, value_fen=90_000, eligibility="tag(cloud_fit)"),
    Offer("d-declined", "Lines", OfferCategory.CROSS_SELL, ALL, value_fen=80_000),
    Offer("e-shown", "IoT", OfferCategory.SERVICE_CARE, ALL, value_fen=70_000),
    Offer("f-costly", "Gift", OfferCategory.UPSELL, ALL, value_fen=10_000, cost_fen=5_000),
    Offer("g-sms-only", "SMS pack", OfferCategory.UPSELL, frozenset({Channel.SMS}), value_fen=10_000),
    Offer("h-unknown", "ICT", OfferCategory.CROSS_SELL, ALL, value_fen=10_000, eligibility="tag(ict)"),
]
COOL = (CoolDown("declined", frozenset({OutcomeKind.DECLINED}), CoolDownScope.SAME_OFFER, rolling(30)),)


def free_customer(keys: list[str], period: str = "2026-03") -> str:
    """An account id in no control group of the given keys this period."""
    for n in range(1000):
        customer = f"K{n}"
        if not any(bandit.in_control_group(customer, k, period, 0.05) for k in keys):
            return customer
    raise AssertionError("no free account")


def inputs(customer: str, **kw) -> nbo.NboInputs:
    hist = AccountHistory(
        outcomes=(
            OutcomeEvent(at(-2), OutcomeKind.DECLINED, Channel.OUTBOUND_CALL, "d-declined", OfferCategory.CROSS_SELL),
            OutcomeEvent(at(-0.5), OutcomeKind.OFFERED, Channel.SMS, "e-shown", OfferCategory.SERVICE_CARE),
        )
    )
    base = dict(
        customer_id=customer,
        channel=Channel.INBOUND_OFFER,
        at=at(),
        now=at(),
        policies=[policy(cool_downs=COOL)],
        offers=OFFERS,
        campaigns=[],
        history=hist,
        context=context(
            customer_id=customer, tier=1, churn_probability=0.5, risk_band=RiskBand.HIGH, predicted_value_fen=90_000_000
        ),
        eligibility={"tag(cloud_fit)": False, "tag(ict)": None},
        stats={},
        exploit_only=True,
        max_offers=2,
    )
    base.update(kw)
    return nbo.NboInputs(**base)


def test_ranking_by_expected_value_with_retention_boost_and_reasons():
    customer = free_customer([o.offer_id for o in OFFERS])
    result = nbo.rank(inputs(customer), random.Random(1))
    ranked = [(r.offer.offer_id, round(r.expected_value_fen)) for r in result.ranked]
    # Retention: 0.1 × 50 000 × (1 + 2 × 0.5) − 500 = 9 500 beats upsell 0.1 × 100 000 − 1 000 = 9 000.
    assert ranked == [("b-retain", 9_500), ("a-upsell", 9_000)]
    assert result.ranked[0].retention_boost == 2.0
    assert any("retention boost ×2.00" in r for r in result.ranked[0].reasons)
    assert result.ranked[0].segment == "diamond/high"
    reasons = {s.offer_id: s.reason for s in result.suppressed}
    assert reasons == {
        "c-eligible-only": SuppressionReason.NOT_ELIGIBLE,
        "d-declined": SuppressionReason.COOL_DOWN,
        "e-shown": SuppressionReason.PRESENTED_ELSEWHERE,
        "f-costly": SuppressionReason.NEGATIVE_VALUE,
        "g-sms-only": SuppressionReason.NOT_AVAILABLE,
        "h-unknown": SuppressionReason.UNKNOWN_ELIGIBILITY,
    }
    shown = next(s for s in result.suppressed if s.offer_id == "e-shown")
    assert shown.blocking[0].kind == RuleKind.PRESENTED_ELSEWHERE
    assert shown.next_allowed_at == at(-0.5) + dt.timedelta(hours=72)
    # Without high churn risk there is no boost and the upsell leads.
    calm = dataclasses.replace(inputs(customer).context, risk_band=RiskBand.LOW, churn_probability=0.02)
    assert nbo.rank(inputs(customer, context=calm), random.Random(1)).ranked[0].offer.offer_id == "a-upsell"


def test_ranked_out_and_already_accepted():
    customer = free_customer([o.offer_id for o in OFFERS])
    accepted = AccountHistory(outcomes=(OutcomeEvent(at(-100), OutcomeKind.ACCEPTED, Channel.SMS, "b-retain"),))
    result = nbo.rank(inputs(customer, history=accepted, max_offers=1), random.Random(1))
    reasons = {s.offer_id: s.reason for s in result.suppressed}
    assert reasons["b-retain"] == SuppressionReason.ALREADY_ACCEPTED
    assert [r.offer.offer_id for r in result.ranked] == ["a-upsell"]
    assert reasons["d-declined"] == SuppressionReason.RANKED_OUT


def test_learned_propensity_and_thompson_sampling():
    customer = free_customer([o.offer_id for o in OFFERS])
    stats = {
        "a-upsell": bandit.ArmStats(accepted=1, declined=39),
        "b-retain": bandit.ArmStats(accepted=30, declined=10),
    }
    result = nbo.rank(inputs(customer, stats=stats), random.Random(1))
    top = result.ranked[0]
    assert top.offer.offer_id == "b-retain"
    assert top.propensity_mean == (1 + 30) / (1 + 30 + 9 + 10)
    sampled = nbo.rank(inputs(customer, stats=stats, exploit_only=False), random.Random(3))
    assert {r.offer.offer_id for r in sampled.ranked} <= {"a-upsell", "b-retain", "d-declined"}
    assert all(r.propensity != r.propensity_mean for r in sampled.ranked)
    # Thompson samples concentrate around the mean as evidence grows.
    post = bandit.posterior((1, 9), bandit.ArmStats(300, 100))
    draws = [post.sample(random.Random(i)) for i in range(200)]
    assert abs(sum(draws) / len(draws) - post.mean) < 0.01


def test_control_group_is_deterministic_per_account_offer_and_month():
    held = next(f"K{n}" for n in range(1000) if bandit.in_control_group(f"K{n}", "a-upsell", "2026-03", 0.05))
    result = nbo.rank(inputs(held), random.Random(1))
    control = [s for s in result.suppressed if s.offer_id == "a-upsell"]
    assert control[0].reason == SuppressionReason.CONTROL_GROUP
    assert bandit.in_control_group(held, "a-upsell", "2026-03", 0.05)
    share = sum(bandit.in_control_group(f"X{n}", "a-upsell", "2026-03", 0.05) for n in range(20_000)) / 20_000
    assert 0.04 < share < 0.06


def test_degraded_reasons_are_carried():
    customer = free_customer([o.offer_id for o in OFFERS])
    ctx = context(customer_id=customer, degraded_reasons=("scoring unavailable (UNAVAILABLE): no cached data",))
    result = nbo.rank(inputs(customer, context=ctx), random.Random(1))
    assert result.degraded_reasons == ("scoring unavailable (UNAVAILABLE): no cached data",)
    assert all(r.retention_boost == 1.0 for r in result.ranked)


CAMPAIGN = Campaign(
    campaign_id="fee-drop",
    name="Fee drop",
    state=CampaignState.ACTIVE,
    triggers=(CampaignTrigger(AccountEventKind.TAG_ASSIGNED, tag="fee_drop_warning"),),
    touchpoints=(Channel.OUTBOUND_CALL, Channel.SMS),
    offer_ids=("a-upsell",),
    target="tag(fee_drop_warning)",
)


def test_campaign_proposes_on_the_best_allowed_touchpoint():
    event = AccountEvent("e1", "profile", "K0", AccountEventKind.TAG_ASSIGNED, at(), tag="fee_drop_warning")
    assert triggered_by(CAMPAIGN, event)
    assert not triggered_by(CAMPAIGN, dataclasses.replace(event, tag="other"))
    customer = next(
        f"K{n}"
        for n in range(1000)
        if not bandit.in_control_group(f"K{n}", "fee-drop", "2026-03", CAMPAIGN.control_share)
    )
    event = dataclasses.replace(event, customer_id=customer)
    no_calls = policy(caps=(cap("no-calls", 0, rolling(1), channels=(Channel.OUTBOUND_CALL,)),))
    base = inputs(customer, policies=[no_calls], eligibility={"tag(fee_drop_warning)": True}, campaigns=[CAMPAIGN])
    proposal = propose(CAMPAIGN, event, base, random.Random(1))
    assert proposal.state == ProposalState.PROPOSED and proposal.channel == Channel.SMS
    assert proposal.offer_id == "a-upsell"
    assert proposal.reasons[0].startswith("OUTBOUND_CALL: offer a-upsell: 0 of 0")
    blocked_everywhere = policy(caps=(cap("none", 0, rolling(1)),))
    suppressed = propose(CAMPAIGN, event, dataclasses.replace(base, policies=[blocked_everywhere]), random.Random(1))
    assert suppressed.state == ProposalState.SUPPRESSED and suppressed.suppression_kind == "ACCOUNT_CAP"
    untargeted = propose(
        CAMPAIGN, event, dataclasses.replace(base, eligibility={"tag(fee_drop_warning)": False}), random.Random(1)
    )
    assert untargeted.state == ProposalState.NOT_TARGETED
    held = next(
        f"K{n}" for n in range(1000) if bandit.in_control_group(f"K{n}", "fee-drop", "2026-03", CAMPAIGN.control_share)
    )
    control = propose(
        CAMPAIGN,
        dataclasses.replace(event, customer_id=held),
        dataclasses.replace(base, customer_id=held),
        random.Random(1),
    )
    assert control.state == ProposalState.CONTROL


def utc(month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def test_simulation_numbers_on_crafted_history():
    draft = policy(
        "draft",
        caps=(cap("sms", 3, rolling(7), channels=(Channel.SMS,)),),
        quiet_hours=QuietHours(dt.time(21, 0), dt.time(8, 0)),
    )
    current = policy("current", caps=(cap("loose", 50, rolling(7)),))
    a = [utc(3, d, 2) for d in (1, 2, 3, 4, 5)] + [utc(3, 6, 3)]
    replay = [ReplayContact("A", contact(t), "Asia/Shanghai") for t in a]
    replay += [
        ReplayContact("B", contact(utc(3, 2, 2)), "Asia/Shanghai"),
        ReplayContact("B", contact(utc(3, 3, 14)), "Asia/Shanghai"),  # 22:00 in Shanghai
        ReplayContact("B", contact(utc(3, 4, 2), Channel.EMAIL), "Asia/Shanghai"),
    ]
    records = {"A": AccountRecords(prior=[contact(utc(2, 27, 2))]), "B": AccountRecords()}
    result = simulate(draft, [current], replay, records, utc(3, 1, 0), utc(4, 1, 0))
    assert (result.contacts_replayed, result.contacts_allowed, result.contacts_suppressed) == (9, 5, 4)
    assert result.suppressed_by_channel == {"SMS": 4}
    assert {(r.rule_id, r.count) for r in result.suppressed_by_rule} == {("draft/sms", 3), ("draft/quiet_hours", 1)}
    (march,) = result.months
    assert (march.month, march.accounts, march.contacts_before, march.contacts_after) == ("2026-03", 2, 9, 5)
    assert (result.per_account_month_before, result.per_account_month_after) == (4.5, 2.5)
    assert result.accounts == 2
