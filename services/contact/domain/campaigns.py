"""Event-triggered campaigns: which campaigns an account event triggers, and the proposal
each makes — the best allowed touchpoint and offer, or why none is allowed.

A campaign proposes when it is active and within its schedule at the event time, one of
its triggers matches the event, and the account matches its target expression. An account
in the campaign's control group this month gets a CONTROL proposal (deliberately not
contacted, so metrics can measure uplift). Otherwise the touchpoints are tried in the
campaign's order of preference; on each, the campaign's offers are ranked by posterior
mean expected value and the first offer the contact rules allow wins. When no touchpoint
allows any offer the proposal is SUPPRESSED with the reasons per touchpoint and the
earliest time one would be allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from services.contact.domain import bandit, nbo
from services.contact.domain.model import (
    AccountEventKind,
    Campaign,
    CampaignState,
    Channel,
    ProposalState,
    RiskBand,
)


@dataclasses.dataclass(frozen=True, slots=True)
class AccountEvent:
    """An account event (from profile's stream or submitted directly)."""

    event_id: str
    source: str
    customer_id: str
    kind: AccountEventKind
    occurred_at: dt.datetime
    tag: str = ""
    risk_band: RiskBand = RiskBand.UNSPECIFIED
    attributes: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Proposal:
    """What one campaign made of one event."""

    campaign_id: str
    campaign_version: int
    customer_id: str
    event: AccountEvent
    state: ProposalState
    proposed_at: dt.datetime
    expires_at: dt.datetime
    channel: Channel | None = None
    offer_id: str = ""
    decision_id: str = ""
    next_allowed_at: dt.datetime | None = None
    reasons: tuple[str, ...] = ()
    suppression_kind: str = ""
    """Kind of the first blocking rule of a SUPPRESSED proposal (metrics group by it)."""
    proposal_id: str = ""


def in_schedule(campaign: Campaign, at: dt.datetime) -> bool:
    """Whether the campaign is active and within its schedule at `at`."""
    if campaign.state != CampaignState.ACTIVE:
        return False
    if campaign.starts_at is not None and at < campaign.starts_at:
        return False
    return campaign.ends_at is None or at < campaign.ends_at


def triggered_by(campaign: Campaign, event: AccountEvent) -> bool:
    """Whether one of the campaign's triggers matches the event."""
    for trigger in campaign.triggers:
        if trigger.kind != event.kind:
            continue
        if event.kind in (AccountEventKind.TAG_ASSIGNED, AccountEventKind.TAG_REMOVED):
            if trigger.tag == event.tag:
                return True
        elif event.kind == AccountEventKind.RISK_BAND_RAISED:
            if event.risk_band >= (trigger.min_risk_band or RiskBand.HIGH):
                return True
        else:
            return True
    return False


def propose(campaign: Campaign, event: AccountEvent, inputs: nbo.NboInputs, rng: random.Random) -> Proposal:
    """The proposal of a triggered campaign for the event's account.

    `inputs` carries the account's history, context, policies, the campaign's offers and
    the evaluated target/eligibility expressions; its channel is replaced per touchpoint.
    """
    at = inputs.at
    base: dict[str, Any] = dict(
        campaign_id=campaign.campaign_id,
        campaign_version=campaign.version,
        customer_id=event.customer_id,
        event=event,
        proposed_at=inputs.now,
        expires_at=inputs.now + campaign.proposal_ttl,
    )
    if campaign.target:
        matched = inputs.eligibility.get(campaign.target)
        if matched is not True:
            why = (
                "target could not be evaluated (profile unavailable)"
                if matched is None
                else (f"account does not match target: {campaign.target}")
            )
            return Proposal(state=ProposalState.NOT_TARGETED, reasons=(why,), **base)
    period = at.strftime("%Y-%m")
    if bandit.in_control_group(event.customer_id, campaign.campaign_id, period, campaign.control_share):
        return Proposal(
            state=ProposalState.CONTROL,
            reasons=(f"control group of campaign {campaign.campaign_id} for {period}",),
            **base,
        )
    offers = [o for o in inputs.offers if o.offer_id in campaign.offer_ids]
    reasons: list[str] = []
    next_times: list[dt.datetime] = []
    first_kind = ""
    for channel in campaign.touchpoints:
        trial = dataclasses.replace(
            inputs, channel=channel, offers=offers, campaigns=[campaign], max_offers=1, exploit_only=True
        )
        result = nbo.rank(trial, rng)
        if result.ranked:
            best = result.ranked[0]
            return Proposal(
                state=ProposalState.PROPOSED,
                channel=channel,
                offer_id=best.offer.offer_id,
                reasons=tuple(reasons) + (f"{channel.name}: allowed; {best.reasons[-1]}",),
                **base,
            )
        for item in result.suppressed:
            reasons.append(f"{channel.name}: offer {item.offer_id}: {item.detail}")
            if item.next_allowed_at is not None:
                next_times.append(item.next_allowed_at)
            if not first_kind and item.blocking:
                first_kind = item.blocking[0].kind.name
            elif not first_kind:
                first_kind = item.reason.name
    return Proposal(
        state=ProposalState.SUPPRESSED,
        reasons=tuple(reasons),
        next_allowed_at=min(next_times) if next_times else None,
        suppression_kind=first_kind,
        **base,
    )
