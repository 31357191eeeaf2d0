"""Frequency caps at and around their limits: account, person, campaign, offer, rolling and
calendar windows across boundaries, priority classes, strictest rule across policies."""

from __future__ import annotations

import datetime as dt

from services.contact.domain.decide import decide
from services.contact.domain.model import (
    AccountEventKind,
    Campaign,
    CampaignState,
    CampaignTrigger,
    CapScope,
    Channel,
    Purpose,
    RuleKind,
    WindowUnit,
)
from services.contact.tests.factories import (
    UTC,
    at,
    calendar,
    cap,
    contact,
    context,
    history,
    policy,
    request,
    rolling,
)

SMS_7D = cap("sms-7d", 3, rolling(7), channels=(Channel.SMS,))


def run(req, hist, policies, ctx=None, when=None, **kw):
    when = when or at()
    return decide(req, when, when, policies, hist, ctx or context(), **kw)


def test_rolling_cap_below_at_and_above_limit():
    pol = policy(caps=(SMS_7D,))
    two = history(contact(at(-3)), contact(at(-1)))
    assert run(request(), two, [pol]).allowed
    three = history(contact(at(-5)), contact(at(-3)), contact(at(-1)))
    decision = run(request(), three, [pol])
    assert not decision.allowed
    (block,) = decision.blocking
    assert block.kind == RuleKind.ACCOUNT_CAP
    assert (block.count, block.limit) == (3, 3)
    assert block.detail.startswith("3 of 3 SMS marketing contacts in rolling 7 days")
    assert block.window_start == at(-7) and block.window_end == at()
    # The oldest leaves the window exactly 7 days after it happened.
    assert decision.next_allowed_at == at(-5) + dt.timedelta(days=7)
    four = history(*three.contacts, contact(at(-0.5)))
    decision = run(request(), four, [pol])
    assert decision.blocking[0].count == 4
    # With 4 in the window two must leave: the second oldest decides.
    assert decision.next_allowed_at == at(-3) + dt.timedelta(days=7)


def test_rolling_window_boundary_is_exact():
    pol = policy(caps=(SMS_7D,))
    hist = history(contact(at(-7)), contact(at(-3)), contact(at(-1)))
    # A contact exactly one window old no longer counts.
    assert run(request(), hist, [pol]).allowed
    hist = history(contact(at(-7) + dt.timedelta(seconds=1)), contact(at(-3)), contact(at(-1)))
    assert not run(request(), hist, [pol]).allowed


def test_other_channels_not_counted_by_channel_cap_but_by_all_channel_cap():
    all_channels = cap("all-30d", 4, rolling(30))
    pol = policy(caps=(SMS_7D, all_channels))
    hist = history(*(contact(at(-d), Channel.EMAIL) for d in (1, 2, 3)))
    decision = run(request(), hist, [pol])
    assert decision.allowed
    counts = {r.rule_id: r.count for r in decision.trace if r.kind == RuleKind.ACCOUNT_CAP}
    assert counts == {"base/sms-7d": 0, "base/all-30d": 3}
    hist = history(*hist.contacts, contact(at(-4), Channel.APP_PUSH))
    decision = run(request(), hist, [pol])
    assert [r.rule_id for r in decision.blocking] == ["base/all-30d"]


def test_calendar_month_versus_rolling_across_month_boundary():
    month_cap = cap("month", 2, calendar(WindowUnit.MONTH), channels=(Channel.SMS,))
    rolling_cap = cap("r30", 2, rolling(1, WindowUnit.MONTH), channels=(Channel.SMS,))
    # Two SMS on 30 and 31 March (Shanghai); decision at 00:30 on 1 April Shanghai time.
    hist = history(
        contact(dt.datetime(2026, 3, 30, 4, 0, tzinfo=UTC)),
        contact(dt.datetime(2026, 3, 31, 4, 0, tzinfo=UTC)),
    )
    when = dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    calendar_decision = run(request(), hist, [policy(caps=(month_cap,))], when=when)
    assert calendar_decision.allowed
    (entry,) = [r for r in calendar_decision.trace if r.kind == RuleKind.ACCOUNT_CAP]
    assert entry.window_start == dt.datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 1 April 00:00 CST
    assert entry.count == 0
    rolling_decision = run(request(), hist, [policy(caps=(rolling_cap,))], when=when)
    assert not rolling_decision.allowed
    assert rolling_decision.next_allowed_at == dt.datetime(2026, 4, 29, 4, 0, tzinfo=UTC)
    # Just before the boundary the calendar cap blocks until local midnight.
    before = dt.datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
    blocked = run(request(), hist, [policy(caps=(month_cap,))], when=before)
    assert not blocked.allowed
    assert blocked.next_allowed_at == dt.datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def test_calendar_day_uses_account_time_zone_and_utc_when_unknown():
    day_cap = cap("day", 1, calendar(WindowUnit.DAY), channels=(Channel.EMAIL,))
    pol = policy(caps=(day_cap,))
    hist = history(contact(dt.datetime(2026, 3, 1, 15, 30, tzinfo=UTC), Channel.EMAIL))  # 23:30 CST
    when = dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 CST next day
    assert run(request(Channel.EMAIL), hist, [pol], when=when).allowed
    unknown = run(request(Channel.EMAIL), hist, [pol], ctx=context(""), when=when)
    assert not unknown.allowed
    assert unknown.blocking[0].window_start == dt.datetime(2026, 3, 1, tzinfo=UTC)


def test_calendar_week_starts_monday_local():
    week_cap = cap("week", 1, calendar(WindowUnit.WEEK), channels=(Channel.EMAIL,))
    pol = policy(caps=(week_cap,))
    sunday_evening = dt.datetime(2026, 3, 15, 10, 0, tzinfo=UTC)  # Sunday 18:00 CST
    hist = history(contact(sunday_evening, Channel.EMAIL))
    monday = dt.datetime(2026, 3, 15, 16, 0, tzinfo=UTC)  # Monday 00:00 CST
    assert run(request(Channel.EMAIL), hist, [pol], when=monday).allowed
    assert not run(request(Channel.EMAIL), hist, [pol], when=monday - dt.timedelta(minutes=1)).allowed


def test_hourly_rolling_cap():
    pol = policy(caps=(cap("burst", 1, rolling(2, WindowUnit.HOUR), channels=(Channel.APP_PUSH,)),))
    hist = history(contact(at(hours=-1), Channel.APP_PUSH))
    decision = run(request(Channel.APP_PUSH), hist, [pol])
    assert not decision.allowed
    assert decision.next_allowed_at == at(hours=1)


def test_visit_counts_against_person_and_account():
    person_cap = cap("visit-person", 1, rolling(30), channels=(Channel.VISIT,), scope=CapScope.PERSON)
    account_cap = cap("visit-account", 2, rolling(30), channels=(Channel.VISIT,))
    pol = policy(caps=(person_cap, account_cap))
    hist = history(contact(at(-10), Channel.VISIT, person_id="p1"))
    blocked = run(request(Channel.VISIT, person_id="p1"), hist, [pol])
    assert [r.rule_id for r in blocked.blocking] == ["base/visit-person"]
    assert "with person p1" in blocked.blocking[0].detail
    assert run(request(Channel.VISIT, person_id="p2"), hist, [pol]).allowed
    hist = history(*hist.contacts, contact(at(-5), Channel.VISIT, person_id="p2"))
    third = run(request(Channel.VISIT, person_id="p3"), hist, [pol])
    assert [r.rule_id for r in third.blocking] == ["base/visit-account"]
    # Without a person, the person cap does not apply (the account cap still does).
    anonymous = run(request(Channel.VISIT), hist, [pol])
    assert {r.rule_id for r in anonymous.trace if r.kind == RuleKind.PERSON_CAP} == set()


def test_campaign_and_offer_caps_count_only_their_own_contacts():
    campaign_cap = cap("per-campaign", 1, rolling(14), scope=CapScope.CAMPAIGN)
    offer_cap = cap("offer-x", 2, rolling(30), scope=CapScope.OFFER, offer_id="x")
    pol = policy(caps=(campaign_cap, offer_cap))
    hist = history(contact(at(-2), campaign_id="k1", offer_id="x"), contact(at(-20), offer_id="x"))
    assert not run(request(campaign_id="k1"), hist, [pol]).allowed
    assert run(request(campaign_id="k2"), hist, [pol]).allowed
    decision = run(request(offer_id="x", campaign_id="k2"), hist, [pol])
    assert [r.rule_id for r in decision.blocking] == ["base/offer-x"]
    assert run(request(offer_id="y"), hist, [pol]).allowed


def test_campaign_caps_from_the_campaign_definition():
    campaign = Campaign(
        campaign_id="k1",
        name="k1",
        triggers=(CampaignTrigger(AccountEventKind.BILL_ISSUED),),
        touchpoints=(Channel.SMS,),
        offer_ids=("x",),
        state=CampaignState.ACTIVE,
        caps=(cap("once", 1, rolling(30)),),
    )
    hist = history(contact(at(-1), campaign_id="k1"))
    decision = run(request(campaign_id="k1"), hist, [policy()], campaign=campaign)
    assert [r.rule_id for r in decision.blocking] == ["campaign:k1/once"]
    assert "campaign:k1@1" in decision.policy_versions


def test_zero_cap_is_never_allowed():
    pol = policy(caps=(cap("no-push", 0, rolling(1), channels=(Channel.APP_PUSH,)),))
    decision = run(request(Channel.APP_PUSH), history(), [pol])
    assert not decision.allowed and decision.never_allowed and decision.next_allowed_at is None


def test_service_and_regulatory_never_capped_nor_counted():
    pol = policy(caps=(cap("all", 1, rolling(30)),))
    full = history(contact(at(-1)))
    for purpose in (Purpose.SERVICE, Purpose.REGULATORY):
        decision = run(request(purpose=purpose), full, [pol])
        assert decision.allowed
        assert decision.trace[-1].kind == RuleKind.PURPOSE_EXEMPT or any(
            r.kind == RuleKind.PURPOSE_EXEMPT for r in decision.trace
        )
    service_only = history(*(contact(at(-d), purpose=Purpose.SERVICE) for d in (1, 2, 3)))
    assert run(request(), service_only, [pol]).allowed


def test_retention_has_its_own_caps():
    marketing = cap("mkt", 1, rolling(30))
    retention = cap("ret", 2, rolling(30), purposes=(Purpose.RETENTION,))
    pol = policy(caps=(marketing, retention))
    hist = history(contact(at(-1)))
    assert not run(request(), hist, [pol]).allowed
    assert run(request(purpose=Purpose.RETENTION), hist, [pol]).allowed
    hist = history(*hist.contacts, *(contact(at(-d), purpose=Purpose.RETENTION) for d in (2, 3)))
    decision = run(request(purpose=Purpose.RETENTION), hist, [pol])
    assert [r.rule_id for r in decision.blocking] == ["base/ret"]
    assert decision.blocking[0].count == 2


def test_strictest_rule_wins_across_policies():
    loose = policy("loose", caps=(cap("sms", 5, rolling(7), channels=(Channel.SMS,)),))
    strict = policy("strict", caps=(cap("sms", 2, rolling(7), channels=(Channel.SMS,)),))
    hist = history(contact(at(-1)), contact(at(-2)))
    decision = run(request(), hist, [loose, strict])
    assert not decision.allowed
    assert [r.rule_id for r in decision.blocking] == ["strict/sms"]
    assert decision.policy_versions == ("loose@1", "strict@1")
    assert len([r for r in decision.trace if r.kind == RuleKind.ACCOUNT_CAP]) == 2


def test_inactive_policy_and_tier_scope():
    strict = policy("strict", caps=(cap("sms", 0, rolling(7)),), applies_to_tiers=frozenset({1}))
    assert run(request(), history(), [strict], ctx=context(tier=5)).allowed
    assert not run(request(), history(), [strict], ctx=context(tier=1)).allowed
    # Tier unknown (profile down): every active policy applies.
    assert not run(request(), history(), [strict], ctx=context(tier=0)).allowed
    inactive = policy("off", caps=(cap("sms", 0, rolling(7)),), active=False)
    assert run(request(), history(), [inactive]).allowed


def test_adjustments_add_and_remove_counted_contacts():
    pol = policy(caps=(SMS_7D,))
    hist = history(contact(at(-1)), contact(at(-2)), contact(at(-3)), contact(at(-1), weight=-1))
    assert run(request(), hist, [pol]).allowed
    hist = history(contact(at(-1)), contact(at(-2), weight=2))
    decision = run(request(), hist, [pol])
    assert decision.blocking[0].count == 3
