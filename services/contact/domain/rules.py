"""Evaluation of each rule kind for one contact at one moment, with its trace entry.

Every function answers a list of RuleEvaluation (possibly empty when the rule kind does
not concern the contact at all). A BLOCKED entry carries `next_allowed_at` when some
future time would lift it, and none when only a change of data would (an open-ended
opt-out, a zero cap, missing consent).

Date arithmetic goes through `windows.shift`, which saturates at the edges of the datetime
range, so a decision at 0001-01-01 or 9999-12-31 is answered like any other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from services.contact.domain import windows
from services.contact.domain.model import (
    COMMERCIAL_PURPOSES,
    UNCAPPED_PURPOSES,
    AccountContext,
    AccountHistory,
    Campaign,
    CampaignState,
    CapScope,
    Channel,
    ContactRequest,
    CoolDown,
    CoolDownScope,
    CountedContact,
    FrequencyCap,
    Offer,
    OfferCategory,
    OutcomeKind,
    Policy,
    Purpose,
    RuleEvaluation,
    RuleKind,
    RuleResult,
)

_CAP_KIND = {
    CapScope.ACCOUNT: RuleKind.ACCOUNT_CAP,
    CapScope.PERSON: RuleKind.PERSON_CAP,
    CapScope.CAMPAIGN: RuleKind.CAMPAIGN_CAP,
    CapScope.OFFER: RuleKind.OFFER_CAP,
}
#: Channels whose contacts are addressed to a person at set hours (preferred hours apply).
PERSON_TIMED_CHANNELS = frozenset({Channel.OUTBOUND_CALL, Channel.VISIT})


def _local_words(at: dt.datetime, tz: dt.tzinfo) -> str:
    """E.g. "Tue 14:00": the local weekday and time (at the edges of time there is none)."""
    try:
        return f"{at.astimezone(tz):%a %H:%M}"
    except (OverflowError, ValueError):
        return "beyond the calendar's range"


def _fmt(at: dt.datetime) -> str:
    """Compact UTC time for trace details."""
    return at.astimezone(windows.UTC).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------------------------
# Frequency caps
# ---------------------------------------------------------------------------------------


def cap_applies(cap: FrequencyCap, request: ContactRequest) -> bool:
    """Whether a cap governs the requested contact."""
    if request.purpose not in cap.purposes or request.purpose in UNCAPPED_PURPOSES:
        return False
    if cap.channels and request.channel not in cap.channels:
        return False
    if cap.scope == CapScope.PERSON:
        return bool(request.person_id)
    if cap.scope == CapScope.CAMPAIGN:
        return bool(request.campaign_id) and cap.campaign_id in ("", request.campaign_id)
    if cap.scope == CapScope.OFFER:
        return bool(request.offer_id) and cap.offer_id in ("", request.offer_id)
    return True


def _counted_by(cap: FrequencyCap, request: ContactRequest, contact: CountedContact) -> bool:
    """Whether a ledger contact is counted by the cap for this request."""
    if contact.purpose not in cap.purposes or contact.purpose in UNCAPPED_PURPOSES:
        return False
    if cap.channels and contact.channel not in cap.channels:
        return False
    if cap.scope == CapScope.PERSON:
        return contact.person_id == request.person_id
    if cap.scope == CapScope.CAMPAIGN:
        return contact.campaign_id == request.campaign_id
    if cap.scope == CapScope.OFFER:
        return contact.offer_id == request.offer_id
    return True


def _cap_words(cap: FrequencyCap, request: ContactRequest) -> str:
    """E.g. "SMS marketing contacts with person p1"."""
    channels = "/".join(sorted(c.name for c in cap.channels)) if cap.channels else "all-channel"
    purposes = "/".join(sorted(p.name.lower() for p in cap.purposes))
    scope = {
        CapScope.ACCOUNT: "",
        CapScope.PERSON: f" with person {request.person_id}",
        CapScope.CAMPAIGN: f" for campaign {request.campaign_id}",
        CapScope.OFFER: f" for offer {request.offer_id}",
    }[cap.scope]
    return f"{channels} {purposes} contacts{scope}"


def evaluate_cap(
    cap: FrequencyCap,
    owner: str,
    version: int,
    request: ContactRequest,
    at: dt.datetime,
    contacts: Sequence[CountedContact],
    tz: dt.tzinfo | None,
) -> RuleEvaluation:
    """Count the cap's contacts in its window at `at` and decide whether one more fits."""
    bounds = windows.bounds(cap.window, at, tz)
    inside = sorted(
        (c for c in contacts if bounds.contains(c.at) and _counted_by(cap, request, c)),
        key=lambda c: c.at,
    )
    count = max(0, sum(c.weight for c in inside))
    words = f"{count} of {cap.max_contacts} {_cap_words(cap, request)} in {windows.describe(cap.window)}"
    common: dict[str, Any] = dict(
        kind=_CAP_KIND[cap.scope],
        rule_id=f"{owner}/{cap.cap_id}",
        policy_id=owner,
        policy_version=version,
        count=count,
        limit=cap.max_contacts,
        window_start=bounds.start,
        window_end=bounds.end,
    )
    if count < cap.max_contacts:
        return RuleEvaluation(result=RuleResult.PASSED, detail=words, **common)
    return RuleEvaluation(
        result=RuleResult.BLOCKED,
        detail=words,
        next_allowed_at=_cap_frees_at(cap, bounds, inside, count),
        **common,
    )


def _cap_frees_at(
    cap: FrequencyCap, bounds: windows.Bounds, inside: list[CountedContact], count: int
) -> dt.datetime | None:
    """When the cap will have room for one more contact (None: never, a zero cap)."""
    if cap.max_contacts <= 0:
        return None
    if not bounds.rolling:
        return bounds.end
    length = windows.rolling_length(cap.window)
    running = count
    for contact in inside:
        running -= contact.weight
        if running <= cap.max_contacts - 1:
            return windows.shift(contact.at, length)
    return None


def caps(
    owner: str,
    version: int,
    cap_list: Iterable[FrequencyCap],
    request: ContactRequest,
    at: dt.datetime,
    history: AccountHistory,
    tz: dt.tzinfo | None,
) -> list[RuleEvaluation]:
    """Evaluate every cap of one policy (or campaign) that governs the contact."""
    return [
        evaluate_cap(cap, owner, version, request, at, history.contacts, tz)
        for cap in cap_list
        if cap_applies(cap, request)
    ]


def purpose_exempt(request: ContactRequest) -> list[RuleEvaluation]:
    """A trace entry saying caps and cool-downs do not apply to SERVICE/REGULATORY."""
    if request.purpose not in UNCAPPED_PURPOSES:
        return []
    return [
        RuleEvaluation(
            kind=RuleKind.PURPOSE_EXEMPT,
            rule_id=f"purpose/{request.purpose.name.lower()}",
            result=RuleResult.NOT_APPLICABLE,
            detail=f"{request.purpose.name} contacts are neither counted nor blocked by frequency caps and cool-downs",
        )
    ]


# ---------------------------------------------------------------------------------------
# Time of day
# ---------------------------------------------------------------------------------------


def _zones_for(policy: Policy, context: AccountContext) -> tuple[list[dt.tzinfo], str]:
    """The zones to check local hours in, and words naming them.

    Known zone: that zone. Unknown zone: every valid fallback zone of the policy (the
    contact must be allowed in all of them); empty when there is none.
    """
    tz = windows.zone(context.time_zone)
    if tz is not None:
        return [tz], context.time_zone
    fallbacks = [z for z in (windows.zone(n) for n in policy.fallback_time_zones) if z]
    names = ", ".join(n for n in policy.fallback_time_zones if windows.zone(n))
    return fallbacks, f"unknown time zone; checked in every fallback zone ({names})"


def _unknown_zone_block(policy: Policy, what: str) -> RuleEvaluation:
    """The conservative answer when the zone is unknown and the policy has no fallback."""
    return RuleEvaluation(
        kind=RuleKind.UNKNOWN_TIME_ZONE,
        rule_id=f"{policy.policy_id}/time_zone",
        policy_id=policy.policy_id,
        policy_version=policy.version,
        result=RuleResult.BLOCKED,
        detail=f"account time zone unknown and policy has no fallback zones: {what} "
        "cannot be checked, so the contact is not made",
    )


def _next_time(
    after: dt.datetime,
    tzs: list[dt.tzinfo],
    marks: list[dt.time],
    allowed: Callable[[dt.datetime], bool],
) -> dt.datetime | None:
    """First boundary instant after `after` at which `allowed(instant)` holds."""
    for instant in windows.boundary_candidates(marks, after, tzs):
        if allowed(instant):
            return instant
    return None


def quiet_hours(
    policy: Policy, request: ContactRequest, at: dt.datetime, context: AccountContext
) -> list[RuleEvaluation]:
    """Quiet hours of one policy in the account's zone (or all fallback zones)."""
    quiet = policy.quiet_hours
    if quiet.empty or not quiet.governs(request.channel, request.purpose):
        return []
    tzs, zone_words = _zones_for(policy, context)
    if not tzs:
        return [_unknown_zone_block(policy, "quiet hours")]

    def allowed(instant: dt.datetime) -> bool:
        return not any(windows.in_quiet_hours(quiet, instant, tz) for tz in tzs)

    period = f"{quiet.start:%H:%M}-{quiet.end:%H:%M}" if quiet.start and quiet.end else "none"
    days = f", quiet weekdays {sorted(quiet.quiet_weekdays)}" if quiet.quiet_weekdays else ""
    local = ", ".join(_local_words(at, tz) for tz in tzs)
    common: dict[str, Any] = dict(
        kind=RuleKind.QUIET_HOURS,
        rule_id=f"{policy.policy_id}/quiet_hours",
        policy_id=policy.policy_id,
        policy_version=policy.version,
    )
    detail = f"local time {local} ({zone_words}); quiet hours {period}{days}"
    if allowed(at):
        return [RuleEvaluation(result=RuleResult.PASSED, detail=detail, **common)]
    marks = [m for m in (quiet.end,) if m is not None]
    nxt = _next_time(at, tzs, marks, allowed)
    return [RuleEvaluation(result=RuleResult.BLOCKED, detail=detail, next_allowed_at=nxt, **common)]


def preferred_hours(
    policy: Policy, request: ContactRequest, at: dt.datetime, context: AccountContext
) -> list[RuleEvaluation]:
    """The person's preferred hours for calls and visits, when the policy honours them."""
    if not (policy.honour_preferred_hours and request.person_id and request.channel in PERSON_TIMED_CHANNELS):
        return []
    common: dict[str, Any] = dict(
        kind=RuleKind.PREFERRED_HOURS,
        rule_id=f"{policy.policy_id}/preferred_hours",
        policy_id=policy.policy_id,
        policy_version=policy.version,
    )
    person = context.persons.get(request.person_id)
    ranges = windows.parse_hour_ranges(person.preferred_hours) if person else None
    if ranges is None:
        why = "person unknown to profile" if person is None else "no preferred hours given"
        return [RuleEvaluation(result=RuleResult.NOT_APPLICABLE, detail=why, **common)]
    tzs, zone_words = _zones_for(policy, context)
    if not tzs:
        return [_unknown_zone_block(policy, "preferred hours")]

    def allowed(instant: dt.datetime) -> bool:
        return all(windows.in_hour_ranges(ranges, instant, tz) for tz in tzs)

    assert person is not None  # ranges is None without a person
    detail = f"preferred hours {person.preferred_hours} ({zone_words})"
    if allowed(at):
        return [RuleEvaluation(result=RuleResult.PASSED, detail=detail, **common)]
    nxt = _next_time(at, tzs, [start for start, _ in ranges], allowed)
    return [RuleEvaluation(result=RuleResult.BLOCKED, detail=detail, next_allowed_at=nxt, **common)]


# ---------------------------------------------------------------------------------------
# Opt-outs and consent
# ---------------------------------------------------------------------------------------


def opt_outs(request: ContactRequest, at: dt.datetime, history: AccountHistory) -> list[RuleEvaluation]:
    """Every opt-out / do-not-disturb entry in force that covers the contact."""
    if request.purpose == Purpose.REGULATORY:
        return []
    found: list[RuleEvaluation] = []
    for entry in history.opt_outs:
        if entry.person_id and entry.person_id != request.person_id:
            continue
        if entry.channels and request.channel not in entry.channels:
            continue
        if request.purpose not in entry.effective_purposes() or not entry.in_force(at):
            continue
        ends = entry.ends_at()
        until = f"until {_fmt(ends)}" if ends else "open-ended"
        who = f"person {entry.person_id}" if entry.person_id else "whole account"
        found.append(
            RuleEvaluation(
                kind=RuleKind.OPT_OUT,
                rule_id=entry.opt_out_id,
                result=RuleResult.BLOCKED,
                detail=f"{entry.kind.name.lower()} ({who}, {until}): {entry.reason} [source {entry.source}]",
                next_allowed_at=ends,
            )
        )
    if not found:
        found.append(
            RuleEvaluation(
                kind=RuleKind.OPT_OUT,
                rule_id="opt_outs",
                result=RuleResult.PASSED,
                detail="no opt-out or do-not-disturb entry in force covers this contact",
            )
        )
    return found


def consent(
    policies: Sequence[Policy],
    request: ContactRequest,
    at: dt.datetime,
    history: AccountHistory,
) -> list[RuleEvaluation]:
    """The consent gate: the latest record covering the contact must be a live grant."""
    requiring = [
        p
        for p in policies
        if any(
            pc.purpose == request.purpose and pc.needs_consent(request.channel) for pc in p.effective_purpose_classes()
        )
    ]
    if not requiring:
        return []
    owner = requiring[0]
    covering = [
        c
        for c in history.consents
        if c.recorded_at <= at and c.covers(request.person_id, request.channel, request.purpose)
    ]
    latest = max(covering, key=lambda c: (c.recorded_at, c.consent_id), default=None)
    common: dict[str, Any] = dict(kind=RuleKind.CONSENT, policy_id=owner.policy_id, policy_version=owner.version)
    if latest is None:
        return [
            RuleEvaluation(
                rule_id=f"{owner.policy_id}/consent",
                result=RuleResult.BLOCKED,
                detail=f"no consent on record for {request.purpose.name} on {request.channel.name}",
                **common,
            )
        ]
    source = f"source {latest.source}" + (f" ({latest.source_ref})" if latest.source_ref else "")
    if not latest.granted:
        return [
            RuleEvaluation(
                rule_id=latest.consent_id,
                result=RuleResult.BLOCKED,
                detail=f"consent withdrawn at {_fmt(latest.recorded_at)}, {source}",
                **common,
            )
        ]
    if latest.expires_at is not None and at >= latest.expires_at:
        return [
            RuleEvaluation(
                rule_id=latest.consent_id,
                result=RuleResult.BLOCKED,
                detail=f"consent expired at {_fmt(latest.expires_at)}, {source}",
                **common,
            )
        ]
    return [
        RuleEvaluation(
            rule_id=latest.consent_id,
            result=RuleResult.PASSED,
            detail=f"consent granted at {_fmt(latest.recorded_at)}, {source}",
            **common,
        )
    ]


# ---------------------------------------------------------------------------------------
# Cool-downs and presentations
# ---------------------------------------------------------------------------------------


def _cool_down_matches(
    rule: CoolDown, request: ContactRequest, category: OfferCategory, offer_id: str, o_cat: OfferCategory
) -> bool:
    """Whether an outcome about (offer_id, o_cat) falls in the cool-down's scope."""
    if rule.scope == CoolDownScope.SAME_OFFER:
        return bool(request.offer_id) and offer_id == request.offer_id
    if rule.scope == CoolDownScope.SAME_CATEGORY:
        return category != OfferCategory.UNSPECIFIED and o_cat == category
    return request.purpose in COMMERCIAL_PURPOSES


def cool_downs(
    policy: Policy,
    request: ContactRequest,
    at: dt.datetime,
    history: AccountHistory,
    category: OfferCategory,
) -> list[RuleEvaluation]:
    """Cool-downs started by the customer's answers (declined, complained)."""
    if request.purpose in UNCAPPED_PURPOSES:
        return []
    found: list[RuleEvaluation] = []
    for rule in policy.cool_downs:
        if rule.scope == CoolDownScope.SAME_OFFER and not request.offer_id:
            continue
        if rule.scope == CoolDownScope.SAME_CATEGORY and category == OfferCategory.UNSPECIFIED:
            continue
        length = windows.rolling_length(rule.duration)
        hits = [
            o
            for o in history.outcomes
            if o.kind in rule.triggers
            and o.at > windows.shift(at, -length)
            and _cool_down_matches(rule, request, category, o.offer_id, o.category)
        ]
        common: dict[str, Any] = dict(
            kind=RuleKind.COOL_DOWN,
            rule_id=f"{policy.policy_id}/{rule.cool_down_id}",
            policy_id=policy.policy_id,
            policy_version=policy.version,
            window_start=windows.shift(at, -length),
            window_end=at,
            count=len(hits),
        )
        scope = rule.scope.name.lower().replace("_", " ")
        if not hits:
            found.append(
                RuleEvaluation(
                    result=RuleResult.PASSED,
                    detail=f"no {'/'.join(sorted(k.name.lower() for k in rule.triggers))} "
                    f"({scope}) in {windows.describe(rule.duration)}",
                    **common,
                )
            )
            continue
        last = max(hits, key=lambda o: o.at)
        found.append(
            RuleEvaluation(
                result=RuleResult.BLOCKED,
                detail=f"{last.kind.name.lower()} at {_fmt(last.at)} "
                f"(offer {last.offer_id or '-'}); cool-down {scope} "
                f"{windows.describe(rule.duration)}",
                next_allowed_at=windows.shift(last.at, length),
                **common,
            )
        )
    return found


def presented_elsewhere(
    offer: Offer, request: ContactRequest, at: dt.datetime, history: AccountHistory
) -> list[RuleEvaluation]:
    """Once an offer was presented on one touchpoint, other touchpoints stop pushing it."""
    length = offer.presentation_cool_down
    shown: list[tuple[dt.datetime, Channel]] = [
        (o.at, o.channel)
        for o in history.outcomes
        if o.kind == OutcomeKind.OFFERED and o.offer_id == offer.offer_id and o.channel
    ]
    shown += [(c.at, c.channel) for c in history.contacts if c.offer_id == offer.offer_id and c.weight > 0]
    since = windows.shift(at, -length)
    elsewhere = [(t, ch) for t, ch in shown if ch != request.channel and t > since]
    common: dict[str, Any] = dict(
        kind=RuleKind.PRESENTED_ELSEWHERE,
        rule_id=f"offer/{offer.offer_id}/presented",
        window_start=since,
        window_end=at,
        count=len(elsewhere),
    )
    if not elsewhere:
        return [
            RuleEvaluation(
                result=RuleResult.PASSED,
                detail=f"not presented on another touchpoint in the last {length.total_seconds() / 3600:g} hours",
                **common,
            )
        ]
    last_at, last_channel = max(elsewhere)
    return [
        RuleEvaluation(
            result=RuleResult.BLOCKED,
            detail=f"presented on {last_channel.name} at {_fmt(last_at)}; other touchpoints "
            f"stop pushing it for {length.total_seconds() / 3600:g} hours",
            next_allowed_at=windows.shift(last_at, length),
            **common,
        )
    ]


# ---------------------------------------------------------------------------------------
# Offer and campaign state
# ---------------------------------------------------------------------------------------


def offer_availability(offer: Offer, request: ContactRequest, at: dt.datetime) -> list[RuleEvaluation]:
    """The offer must be active, valid at `at` and made on the channel."""
    problem = offer.available(at, request.channel)
    rule_id = f"offer/{offer.offer_id}"
    if problem is None:
        return [
            RuleEvaluation(
                kind=RuleKind.OFFER_AVAILABILITY,
                rule_id=rule_id,
                result=RuleResult.PASSED,
                detail=f"offer {offer.offer_id} v{offer.version} available on {request.channel.name}",
            )
        ]
    nxt = offer.valid_from if offer.valid_from is not None and at < offer.valid_from else None
    return [
        RuleEvaluation(
            kind=RuleKind.OFFER_AVAILABILITY,
            rule_id=rule_id,
            result=RuleResult.BLOCKED,
            detail=problem,
            next_allowed_at=nxt,
        )
    ]


def campaign_state(campaign: Campaign, at: dt.datetime) -> list[RuleEvaluation]:
    """The campaign must be active, within its schedule and its budget (spend plus reserved
    contacts plus this contact's cost at most the budget)."""
    common: dict[str, Any] = dict(
        kind=RuleKind.CAMPAIGN_STATE,
        rule_id=f"campaign/{campaign.campaign_id}",
        policy_id=f"campaign:{campaign.campaign_id}",
        policy_version=campaign.version,
    )
    problem: str | None = None
    nxt: dt.datetime | None = None
    if campaign.state != CampaignState.ACTIVE:
        problem = f"campaign is {campaign.state.name.lower()}"
    elif campaign.starts_at is not None and at < campaign.starts_at:
        problem, nxt = f"campaign starts at {_fmt(campaign.starts_at)}", campaign.starts_at
    elif campaign.ends_at is not None and at >= campaign.ends_at:
        problem = f"campaign ended at {_fmt(campaign.ends_at)}"
    elif campaign.budget_fen > 0:
        # The contact must fit in what is left after the spend and the contacts already
        # reserved (they become spend when confirmed), so racing reservations never overshoot.
        left = campaign.budget_fen - campaign.spent_fen - campaign.committed_fen
        if left <= 0 or campaign.contact_cost_fen > left:
            problem = (
                f"budget would be exceeded ({campaign.spent_fen} spent + {campaign.committed_fen} reserved"
                f" + {campaign.contact_cost_fen} for this contact > {campaign.budget_fen} fen)"
            )
    if problem is None:
        return [
            RuleEvaluation(
                result=RuleResult.PASSED,
                detail=f"campaign {campaign.campaign_id} v{campaign.version} active",
                **common,
            )
        ]
    return [RuleEvaluation(result=RuleResult.BLOCKED, detail=problem, next_allowed_at=nxt, **common)]
