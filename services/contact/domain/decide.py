"""Combining every applicable rule into one decision, and the next allowed time.

Strictest wins: all rules of all applicable policies (and of the campaign and offer the
contact is about) are evaluated; the contact is allowed only when none blocks. A policy
applies when it is active and its tier list is empty or holds the account's tier; when
the tier is unknown (profile unavailable) every active policy applies, the conservative
choice.

Next allowed time: starting from the decision time, jump to the latest `next_allowed_at`
of the blocking rules and evaluate everything again at that moment (with the same
history), until nothing blocks. A blocking rule without a next time (open-ended opt-out,
missing consent, zero cap) makes the contact never allowed under current data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from services.contact.domain import rules, windows
from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    Campaign,
    CapScope,
    ContactRequest,
    Decision,
    FrequencyCap,
    Offer,
    OfferCategory,
    Policy,
    RuleEvaluation,
)

#: Bound on re-evaluations while searching the next allowed time.
MAX_STEPS = 64


def applicable_policies(policies: Sequence[Policy], context: AccountContext) -> list[Policy]:
    """Active policies that apply to the account's tier, by policy id."""
    return sorted(
        (p for p in policies if p.active and p.applies_to(context.tier)),
        key=lambda p: p.policy_id,
    )


def campaign_caps(campaign: Campaign) -> tuple[FrequencyCap, ...]:
    """A campaign's caps, bound to the campaign and defaulting to its purpose."""
    bound: list[FrequencyCap] = []
    for cap in campaign.caps:
        purposes = cap.purposes if cap.purposes else frozenset({campaign.purpose})
        bound.append(
            FrequencyCap(
                cap_id=cap.cap_id,
                scope=CapScope.CAMPAIGN,
                max_contacts=cap.max_contacts,
                window=cap.window,
                channels=cap.channels,
                purposes=purposes,
                campaign_id=campaign.campaign_id,
            )
        )
    return tuple(bound)


def evaluate_all(
    request: ContactRequest,
    at: dt.datetime,
    policies: Sequence[Policy],
    history: AccountHistory,
    context: AccountContext,
    offer: Offer | None = None,
    campaign: Campaign | None = None,
) -> list[RuleEvaluation]:
    """Every rule that concerns the contact, evaluated at `at`, in a stable order."""
    category = request.category
    if category == OfferCategory.UNSPECIFIED and offer is not None:
        category = offer.category
    tz = windows.zone(context.time_zone)
    trace: list[RuleEvaluation] = []
    if offer is not None:
        trace += rules.offer_availability(offer, request, at)
    if campaign is not None:
        trace += rules.campaign_state(campaign, at)
    trace += rules.consent(policies, request, at, history)
    trace += rules.opt_outs(request, at, history)
    trace += rules.purpose_exempt(request)
    for policy in policies:
        trace += rules.caps(policy.policy_id, policy.version, policy.caps, request, at, history, tz)
    if campaign is not None:
        owner = f"campaign:{campaign.campaign_id}"
        trace += rules.caps(owner, campaign.version, campaign_caps(campaign), request, at, history, tz)
    for policy in policies:
        trace += rules.cool_downs(policy, request, at, history, category)
    if offer is not None:
        trace += rules.presented_elsewhere(offer, request, at, history)
    for policy in policies:
        trace += rules.quiet_hours(policy, request, at, context)
        trace += rules.preferred_hours(policy, request, at, context)
    return trace


def next_allowed(
    request: ContactRequest,
    at: dt.datetime,
    blocking: Sequence[RuleEvaluation],
    policies: Sequence[Policy],
    history: AccountHistory,
    context: AccountContext,
    offer: Offer | None,
    campaign: Campaign | None,
) -> dt.datetime | None:
    """Earliest moment after `at` at which nothing blocks; None when none is found."""
    current = list(blocking)
    moment = at
    for _ in range(MAX_STEPS):
        if not current:
            return moment
        times = [r.next_allowed_at for r in current]
        if any(t is None for t in times):
            return None
        later = max(t for t in times if t is not None)
        if later <= moment and moment == windows.LATEST:
            return None  # nothing left to try at the edge of time
        moment = later if later > moment else windows.shift(moment, dt.timedelta(seconds=1))
        current = [r for r in evaluate_all(request, moment, policies, history, context, offer, campaign) if r.blocked]
    return None


def decide(
    request: ContactRequest,
    at: dt.datetime,
    now: dt.datetime,
    policies: Sequence[Policy],
    history: AccountHistory,
    context: AccountContext,
    offer: Offer | None = None,
    campaign: Campaign | None = None,
) -> Decision:
    """Decide a contact at `at` (`now` is the server time recorded with the decision)."""
    applicable = applicable_policies(policies, context)
    trace = evaluate_all(request, at, applicable, history, context, offer, campaign)
    blocking = [r for r in trace if r.blocked]
    nxt = None
    if blocking:
        nxt = next_allowed(request, at, blocking, applicable, history, context, offer, campaign)
    versions = [p.ref for p in applicable]
    if campaign is not None:
        versions.append(f"campaign:{campaign.campaign_id}@{campaign.version}")
    resolved = ContactRequest(
        customer_id=request.customer_id,
        channel=request.channel,
        purpose=request.purpose,
        person_id=request.person_id,
        category=request.category,
        campaign_id=request.campaign_id,
        offer_id=request.offer_id,
        at=at,
    )
    return Decision(
        request=resolved,
        allowed=not blocking,
        trace=tuple(trace),
        decided_at=now,
        policy_versions=tuple(versions),
        next_allowed_at=nxt,
        never_allowed=bool(blocking) and nxt is None,
        degraded=context.degraded,
    )


def lookback(policies: Sequence[Policy], campaigns: Sequence[Campaign] = ()) -> dt.timedelta:
    """How far back history must be loaded to evaluate every window of the rules.

    Calendar windows reach back at most one unit (a calendar month: 31 days); rolling
    windows their length; cool-downs their duration. Presentation cool-downs of offers are
    short (hours) and covered by the minimum of 31 days.
    """
    longest = dt.timedelta(days=31)
    for policy in policies:
        for cap in policy.caps:
            longest = max(longest, windows.rolling_length(cap.window) + dt.timedelta(days=1))
        for rule in policy.cool_downs:
            longest = max(longest, windows.rolling_length(rule.duration))
    for campaign in campaigns:
        for cap in campaign.caps:
            longest = max(longest, windows.rolling_length(cap.window) + dt.timedelta(days=1))
    return longest
