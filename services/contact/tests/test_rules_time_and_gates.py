"""Quiet hours and preferred hours across time zones (and the conservative rule for unknown
zones), opt-outs and do-not-disturb with expiry, consent, cool-downs, presentations, and
the next allowed time when several rules interact."""

from __future__ import annotations

import datetime as dt

from services.contact.domain.decide import decide
from services.contact.domain.model import (
    AccountHistory,
    Channel,
    Consent,
    CoolDown,
    CoolDownScope,
    Offer,
    OfferCategory,
    OptOut,
    OptOutKind,
    OutcomeEvent,
    OutcomeKind,
    Person,
    Purpose,
    PurposeClass,
    QuietHours,
    RuleKind,
)
from services.contact.tests.factories import (
    UTC,
    at,
    cap,
    contact,
    context,
    grant,
    history,
    policy,
    request,
    rolling,
)

QUIET = QuietHours(start=dt.time(21, 0), end=dt.time(8, 0))


def run(req, hist, policies, ctx=None, when=None, **kw):
    when = when or at()
    return decide(req, when, when, policies, hist, ctx or context(), **kw)


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_quiet_hours_in_account_time_zone():
    pol = policy(quiet_hours=QUIET)
    evening = utc(10, 13, 30)  # 21:30 in Shanghai
    decision = run(request(), history(), [pol], when=evening)
    assert not decision.allowed
    assert decision.blocking[0].kind == RuleKind.QUIET_HOURS
    assert "Tue 21:30" in decision.blocking[0].detail
    assert decision.next_allowed_at == utc(11, 0)  # 08:00 Shanghai
    assert run(request(), history(), [pol], when=utc(11, 0)).allowed
    assert not run(request(), history(), [pol], when=utc(10, 23, 59)).allowed
    # The same instant is 14:30 in Berlin: allowed there.
    assert run(request(), history(), [pol], ctx=context("Europe/Berlin"), when=evening).allowed


def test_quiet_hours_skip_customer_initiated_and_exempt_purposes():
    pol = policy(quiet_hours=QuietHours(dt.time(21, 0), dt.time(8, 0), exempt_purposes=frozenset({Purpose.REGULATORY})))
    night = utc(10, 15)  # 23:00 Shanghai
    assert run(request(Channel.INBOUND_OFFER), history(), [pol], when=night).allowed
    assert run(request(purpose=Purpose.REGULATORY), history(), [pol], when=night).allowed
    assert not run(request(purpose=Purpose.SERVICE), history(), [pol], when=night).allowed


def test_quiet_weekdays():
    pol = policy(quiet_hours=QuietHours(quiet_weekdays=frozenset({6, 7})))
    saturday_noon = utc(14, 4)  # Saturday 12:00 Shanghai
    decision = run(request(), history(), [pol], when=saturday_noon)
    assert not decision.allowed
    assert decision.next_allowed_at == utc(15, 16)  # Monday 00:00 Shanghai


def test_unknown_time_zone_without_fallback_is_blocked():
    pol = policy(quiet_hours=QUIET)
    decision = run(request(), history(), [pol], ctx=context(""), when=utc(10, 4))
    assert not decision.allowed and decision.never_allowed
    assert decision.blocking[0].kind == RuleKind.UNKNOWN_TIME_ZONE


def test_unknown_time_zone_checked_in_every_fallback_zone():
    pol = policy(quiet_hours=QUIET, fallback_time_zones=("Asia/Shanghai", "Asia/Urumqi"))
    # 01:30 UTC: 09:30 in Shanghai but 07:30 in Urumqi (UTC+6): still quiet there.
    decision = run(request(), history(), [pol], ctx=context(""), when=utc(10, 1, 30))
    assert not decision.allowed
    assert "unknown time zone" in decision.blocking[0].detail
    assert decision.next_allowed_at == utc(10, 2)
    # 12:30 UTC: 20:30 Shanghai, 18:30 Urumqi: allowed in both.
    assert run(request(), history(), [pol], ctx=context(""), when=utc(10, 12, 30)).allowed
    # 13:30 UTC: 21:30 in Shanghai: quiet there.
    assert not run(request(), history(), [pol], ctx=context(""), when=utc(10, 13, 30)).allowed


def test_preferred_hours_of_the_person():
    pol = policy(honour_preferred_hours=True)
    ctx = context(persons={"p1": Person("p1", "09:00-12:00, 14:00-17:00")})
    lunch = utc(10, 4, 30)  # 12:30 Shanghai
    decision = run(request(Channel.OUTBOUND_CALL, person_id="p1"), history(), [pol], ctx=ctx, when=lunch)
    assert not decision.allowed
    assert decision.blocking[0].kind == RuleKind.PREFERRED_HOURS
    assert decision.next_allowed_at == utc(10, 6)  # 14:00 Shanghai
    assert run(request(Channel.OUTBOUND_CALL, person_id="p1"), history(), [pol], ctx=ctx, when=utc(10, 6)).allowed
    # SMS is not time-bound to the person; an unknown person has no preference.
    assert run(request(Channel.SMS, person_id="p1"), history(), [pol], ctx=ctx, when=lunch).allowed
    unknown = run(request(Channel.VISIT, person_id="p9"), history(), [pol], ctx=ctx, when=lunch)
    assert unknown.allowed
    assert any(r.kind == RuleKind.PREFERRED_HOURS and "unknown" in r.detail for r in unknown.trace)


def test_next_allowed_combines_cap_and_quiet_hours():
    pol = policy(quiet_hours=QUIET, caps=(cap("sms", 1, rolling(1), channels=(Channel.SMS,)),))
    # Last SMS yesterday at 11:30 UTC (19:30 Shanghai).
    hist = history(contact(utc(9, 11, 30)))
    decision = run(request(), hist, [pol], when=utc(10, 10))  # 18:00 Shanghai
    # The cap frees at 11:30 UTC (19:30 Shanghai), before quiet hours: that is the answer.
    assert decision.next_allowed_at == utc(10, 11, 30)
    hist = history(contact(utc(9, 13, 45)))  # 21:45 Shanghai (a service exception, say)
    decision = run(request(), hist, [pol], when=utc(10, 10))
    # The cap frees at 21:45 Shanghai, inside quiet hours: next is 08:00.
    assert decision.next_allowed_at == utc(11, 0)


def test_opt_out_expiry_and_scope():
    dnd = OptOut("oo1", "C1", OptOutKind.DO_NOT_DISTURB, "annual audit", "crm", expires_at=at(2))
    hist = AccountHistory(opt_outs=(dnd,))
    decision = run(request(), hist, [policy()])
    assert not decision.allowed
    assert decision.blocking[0].rule_id == "oo1"
    assert decision.next_allowed_at == at(2)
    assert run(request(), hist, [policy()], when=at(2)).allowed
    assert run(request(purpose=Purpose.SERVICE), hist, [policy()]).allowed
    open_ended = OptOut("oo2", "C1", OptOutKind.OPT_OUT, "asked", "hotline", channels=frozenset({Channel.SMS}))
    hist = AccountHistory(opt_outs=(open_ended,))
    blocked = run(request(), hist, [policy()])
    assert blocked.never_allowed
    assert run(request(Channel.EMAIL), hist, [policy()]).allowed
    lifted = OptOut("oo3", "C1", OptOutKind.OPT_OUT, "asked", "hotline", removed_at=at(-1))
    assert run(request(), AccountHistory(opt_outs=(lifted,)), [policy()]).allowed


def test_opt_out_of_a_person_and_regulatory():
    entry = OptOut(
        "oo1",
        "C1",
        OptOutKind.OPT_OUT,
        "asked",
        "crm",
        person_id="p1",
        purposes=frozenset({Purpose.MARKETING, Purpose.SERVICE}),
    )
    hist = AccountHistory(opt_outs=(entry,))
    assert not run(request(person_id="p1"), hist, [policy()]).allowed
    assert not run(request(person_id="p1", purpose=Purpose.SERVICE), hist, [policy()]).allowed
    assert run(request(person_id="p2"), hist, [policy()]).allowed
    assert run(request(person_id="p1", purpose=Purpose.REGULATORY), hist, [policy()]).allowed


def test_consent_is_a_hard_gate_with_its_source():
    pol = policy(purpose_classes=(PurposeClass(Purpose.MARKETING, True),))
    decision = run(request(), history(), [pol])
    assert not decision.allowed and decision.never_allowed
    assert decision.blocking[0].kind == RuleKind.CONSENT
    granted = AccountHistory(consents=(grant(at(-30), source_ref="doc-7"),))
    ok = run(request(), granted, [pol])
    assert ok.allowed
    assert "source contract (doc-7)" in [r for r in ok.trace if r.kind == RuleKind.CONSENT][0].detail
    withdrawn = AccountHistory(consents=(*granted.consents, grant(at(-1), granted=False, consent_id="w")))
    assert not run(request(), withdrawn, [pol]).allowed
    expiring = AccountHistory(consents=(grant(at(-30), expires_at=at(-2)),))
    assert "expired" in run(request(), expiring, [pol]).blocking[0].detail
    # Consent for e-mail does not cover SMS; service contacts need no consent by default.
    email_only = AccountHistory(consents=(grant(at(-30), channel=Channel.EMAIL),))
    assert not run(request(), email_only, [pol]).allowed
    assert run(request(purpose=Purpose.SERVICE), history(), [pol]).allowed


def test_default_purpose_classes_require_consent_for_commercial_outbound():
    from services.contact.domain.model import Policy

    default = Policy(policy_id="d", name="d")
    assert not decide(request(), at(), at(), [default], history(), context()).allowed
    assert decide(request(Channel.INBOUND_OFFER), at(), at(), [default], history(), context()).allowed
    assert decide(
        request(purpose=Purpose.RETENTION, channel=Channel.OUTBOUND_CALL),
        at(),
        at(),
        [default],
        AccountHistory(consents=(Consent("c", "C1", True, "ivr", at(-1)),)),
        context(),
    ).allowed


OFFER = Offer("upgrade", "Bandwidth upgrade", OfferCategory.UPSELL, frozenset(Channel))


def outcome(
    kind: OutcomeKind,
    days: float,
    offer_id: str = "upgrade",
    channel=Channel.INBOUND_OFFER,
    category=OfferCategory.UPSELL,
) -> OutcomeEvent:
    return OutcomeEvent(at=at(days), kind=kind, channel=channel, offer_id=offer_id, category=category)


COOL = (
    CoolDown("declined-offer", frozenset({OutcomeKind.DECLINED}), CoolDownScope.SAME_OFFER, rolling(30)),
    CoolDown("declined-category", frozenset({OutcomeKind.DECLINED}), CoolDownScope.SAME_CATEGORY, rolling(7)),
    CoolDown("complained", frozenset({OutcomeKind.COMPLAINED}), CoolDownScope.ALL_COMMERCIAL, rolling(60)),
)


def test_cool_down_after_refusal_same_offer_and_category():
    pol = policy(cool_downs=COOL)
    hist = AccountHistory(outcomes=(outcome(OutcomeKind.DECLINED, -3),))
    same = run(request(offer_id="upgrade"), hist, [pol], offer=OFFER)
    assert {r.rule_id for r in same.blocking} == {"base/declined-offer", "base/declined-category"}
    assert same.next_allowed_at == at(27)
    other = Offer("more-lines", "More lines", OfferCategory.UPSELL, frozenset(Channel))
    sibling = run(request(offer_id="more-lines"), hist, [pol], offer=other)
    assert [r.rule_id for r in sibling.blocking] == ["base/declined-category"]
    assert sibling.next_allowed_at == at(4)
    cross = Offer("cloud", "Cloud", OfferCategory.CROSS_SELL, frozenset(Channel))
    assert run(request(offer_id="cloud"), hist, [pol], offer=cross).allowed


def test_only_customer_answers_start_cool_downs():
    pol = policy(cool_downs=COOL)
    hist = AccountHistory(
        outcomes=(
            outcome(OutcomeKind.SHOWN_TO_AGENT, -1),
            outcome(OutcomeKind.OFFERED, -1, channel=Channel.INBOUND_OFFER),
            outcome(OutcomeKind.NO_ANSWER, -1),
        )
    )
    decision = run(request(Channel.INBOUND_OFFER, offer_id="upgrade"), hist, [pol], offer=OFFER)
    assert decision.allowed


def test_complaint_pauses_all_commercial_contacts_not_service():
    pol = policy(cool_downs=COOL)
    hist = AccountHistory(outcomes=(outcome(OutcomeKind.COMPLAINED, -10, offer_id=""),))
    assert not run(request(), hist, [pol]).allowed
    assert not run(request(purpose=Purpose.RETENTION), hist, [pol]).allowed
    assert run(request(purpose=Purpose.SERVICE), hist, [pol]).allowed


def test_presented_on_one_touchpoint_stops_the_others():
    hist = AccountHistory(outcomes=(outcome(OutcomeKind.OFFERED, -1, channel=Channel.INBOUND_OFFER),))
    sms = run(request(offer_id="upgrade"), hist, [policy()], offer=OFFER)
    assert not sms.allowed
    assert sms.blocking[0].kind == RuleKind.PRESENTED_ELSEWHERE
    assert sms.next_allowed_at == at(-1) + dt.timedelta(hours=72)
    assert run(request(Channel.INBOUND_OFFER, offer_id="upgrade"), hist, [policy()], offer=OFFER).allowed
    # A confirmed SMS carrying the offer is a presentation too.
    sent = history(contact(at(-1), Channel.SMS, offer_id="upgrade"))
    assert not run(request(Channel.APP_PUSH, offer_id="upgrade"), sent, [policy()], offer=OFFER).allowed


def test_offer_availability():
    limited = Offer("x", "X", OfferCategory.UPSELL, frozenset({Channel.SMS}), valid_from=at(1), valid_until=at(5))
    early = run(request(offer_id="x"), history(), [policy()], offer=limited)
    assert not early.allowed and early.next_allowed_at == at(1)
    assert run(request(offer_id="x"), history(), [policy()], offer=limited, when=at(2)).allowed
    assert run(request(Channel.EMAIL, offer_id="x"), history(), [policy()], offer=limited, when=at(2)).never_allowed
    assert run(request(offer_id="x"), history(), [policy()], offer=limited, when=at(5)).never_allowed


def test_cool_down_and_presentation_lift_exactly_at_their_next_allowed_time():
    pol = policy(cool_downs=COOL)
    hist = AccountHistory(outcomes=(outcome(OutcomeKind.DECLINED, -3),))
    blocked = run(request(offer_id="upgrade"), hist, [pol], offer=OFFER)
    just_before = blocked.next_allowed_at - dt.timedelta(seconds=1)
    assert not run(request(offer_id="upgrade"), hist, [pol], offer=OFFER, when=just_before).allowed
    assert run(request(offer_id="upgrade"), hist, [pol], offer=OFFER, when=blocked.next_allowed_at).allowed
    shown = AccountHistory(outcomes=(outcome(OutcomeKind.OFFERED, -1, channel=Channel.INBOUND_OFFER),))
    sms = run(request(offer_id="upgrade"), shown, [policy()], offer=OFFER)
    assert not run(
        request(offer_id="upgrade"), shown, [policy()], offer=OFFER, when=sms.next_allowed_at - dt.timedelta(seconds=1)
    ).allowed
    assert run(request(offer_id="upgrade"), shown, [policy()], offer=OFFER, when=sms.next_allowed_at).allowed


def test_next_allowed_time_is_always_allowed():
    pol = policy(
        quiet_hours=QuietHours(dt.time(21, 0), dt.time(8, 0), quiet_weekdays=frozenset({7})),
        caps=(cap("all", 2, rolling(3)),),
        cool_downs=COOL,
        honour_preferred_hours=True,
    )
    ctx = context(persons={"p1": Person("p1", "10:00-11:30")})
    hist = AccountHistory(
        contacts=(contact(at(-1)), contact(at(-2.5))),
        outcomes=(outcome(OutcomeKind.DECLINED, -20),),
    )
    for hours in range(0, 24 * 7, 5):
        when = at(hours=hours)
        decision = run(
            request(Channel.OUTBOUND_CALL, person_id="p1", offer_id="upgrade"),
            hist,
            [pol],
            ctx=ctx,
            when=when,
            offer=OFFER,
        )
        if decision.allowed:
            continue
        assert decision.next_allowed_at is not None and decision.next_allowed_at > when
        later = run(
            request(Channel.OUTBOUND_CALL, person_id="p1", offer_id="upgrade"),
            hist,
            [pol],
            ctx=ctx,
            when=decision.next_allowed_at,
            offer=OFFER,
        )
        assert later.allowed, [r.detail for r in later.blocking]
