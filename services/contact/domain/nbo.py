"""Next-best-offer: rank the offers an account may be given on a touchpoint now.

For each offer of the catalogue, in this order, a candidate is suppressed when:
1. it is inactive, outside its validity or not made on the channel (NOT_AVAILABLE);
2. the account accepted it already within the history loaded (ALREADY_ACCEPTED);
3. the eligibility expression is false (NOT_ELIGIBLE) or cannot be evaluated because
   profile is unavailable and nothing is cached, or the expression no longer checks
   against profile's feature schema (UNKNOWN_ELIGIBILITY);
4. the account is in the offer's control group this month, or in the control group of an
   active campaign that carries the offer (CONTROL_GROUP);
5. a contact rule forbids the contact (PRESENTED_ELSEWHERE, COOL_DOWN, NOT_AVAILABLE or
   CONTACT_RULE, after the kind of the blocking rules);
6. its expected value is not positive (NEGATIVE_VALUE);
and the rest are ranked by expected value, the ones below max_offers being RANKED_OUT.

Expected value (fen) = propensity × value × retention boost − cost. The retention boost
raises retention offers for accounts worth keeping that are likely to leave: when the
churn risk band is HIGH and the account is valuable (predicted value at least the
configured threshold, or tier diamond/emerald/platinum), boost = 1 + 2 × churn
probability (so 1.6 at p = 0.3 and 3 at p = 1); otherwise 1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Mapping, Sequence

from services.contact.domain import bandit
from services.contact.domain.decide import applicable_policies, decide
from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    Campaign,
    Channel,
    ContactRequest,
    Decision,
    Offer,
    OfferCategory,
    OutcomeKind,
    Policy,
    RiskBand,
    RuleEvaluation,
    RuleKind,
    SuppressionReason,
)

#: Tiers treated as valuable for the retention boost when no predicted value is known.
VALUABLE_TIERS = frozenset({1, 2, 3})


@dataclasses.dataclass(frozen=True, slots=True)
class RankedOffer:
    """An offer ranked for the account, with the numbers and words behind its place."""

    offer: Offer
    propensity: float
    propensity_mean: float
    expected_value_fen: float
    retention_boost: float
    segment: str
    reasons: tuple[str, ...]
    campaign_id: str = ""
    rank: int = 0
    decision: Decision | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SuppressedOffer:
    """A candidate removed, with the reason and the blocking rules when rules removed it."""

    offer_id: str
    reason: SuppressionReason
    detail: str
    blocking: tuple[RuleEvaluation, ...] = ()
    next_allowed_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NboResult:
    """Ranked offers, suppressed candidates and what was degraded."""

    ranked: tuple[RankedOffer, ...]
    suppressed: tuple[SuppressedOffer, ...]
    degraded_reasons: tuple[str, ...]
    policy_versions: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class NboInputs:
    """Everything next-best-offer reads, gathered by the application layer."""

    customer_id: str
    channel: Channel
    at: dt.datetime
    now: dt.datetime
    policies: Sequence[Policy]
    offers: Sequence[Offer]
    campaigns: Sequence[Campaign]
    history: AccountHistory
    context: AccountContext
    eligibility: Mapping[str, bool | None]
    """Offer eligibility and campaign targets by expression: True/False, None = unknown."""
    stats: Mapping[str, bandit.ArmStats]
    """Observed answers per offer id for the account's segment."""
    person_id: str = ""
    max_offers: int = 3
    exploit_only: bool = False
    valuable_value_fen: int = 50_000_000
    degraded_reasons: tuple[str, ...] = ()


def retention_boost(offer: Offer, context: AccountContext, valuable_value_fen: int) -> tuple[float, str]:
    """The boost for a retention offer and the words for it (1.0, "" when none)."""
    if offer.category != OfferCategory.RETENTION or context.churn_probability is None:
        return 1.0, ""
    if context.risk_band != RiskBand.HIGH:
        return 1.0, ""
    valuable = (
        context.predicted_value_fen is not None and context.predicted_value_fen >= valuable_value_fen
    ) or context.tier in VALUABLE_TIERS
    if not valuable:
        return 1.0, ""
    boost = 1.0 + 2.0 * context.churn_probability
    return boost, (
        f"retention boost ×{boost:.2f}: churn risk high ({context.churn_probability:.0%}) and a valuable account"
    )


def _rule_reason(blocking: Sequence[RuleEvaluation]) -> SuppressionReason:
    kinds = {r.kind for r in blocking}
    if RuleKind.PRESENTED_ELSEWHERE in kinds:
        return SuppressionReason.PRESENTED_ELSEWHERE
    if RuleKind.COOL_DOWN in kinds:
        return SuppressionReason.COOL_DOWN
    if RuleKind.OFFER_AVAILABILITY in kinds:
        return SuppressionReason.NOT_AVAILABLE
    return SuppressionReason.CONTACT_RULE


def _carrying_campaign(offer: Offer, inputs: NboInputs, period: str) -> tuple[Campaign | None, Campaign | None]:
    """(campaign that carries the offer to this account, campaign holding it out)."""
    for campaign in sorted(inputs.campaigns, key=lambda c: c.campaign_id):
        if offer.offer_id not in campaign.offer_ids:
            continue
        if campaign.target and inputs.eligibility.get(campaign.target) is not True:
            continue
        if bandit.in_control_group(inputs.customer_id, campaign.campaign_id, period, campaign.control_share):
            return None, campaign
        return campaign, None
    return None, None


def rank(inputs: NboInputs, rng: random.Random) -> NboResult:
    """Rank the catalogue for the account (see the module docstring)."""
    period = inputs.at.strftime("%Y-%m")
    accepted = {o.offer_id for o in inputs.history.outcomes if o.kind == OutcomeKind.ACCEPTED}
    suppressed: list[SuppressedOffer] = []
    candidates: list[RankedOffer] = []
    versions = tuple(p.ref for p in applicable_policies(inputs.policies, inputs.context))
    for offer in sorted(inputs.offers, key=lambda o: o.offer_id):
        problem = offer.available(inputs.at, inputs.channel)
        if problem is not None:
            suppressed.append(SuppressedOffer(offer.offer_id, SuppressionReason.NOT_AVAILABLE, problem))
            continue
        if offer.offer_id in accepted:
            suppressed.append(SuppressedOffer(offer.offer_id, SuppressionReason.ALREADY_ACCEPTED, "accepted already"))
            continue
        if offer.eligibility:
            eligible = inputs.eligibility.get(offer.eligibility)
            if eligible is None:
                suppressed.append(
                    SuppressedOffer(
                        offer.offer_id,
                        SuppressionReason.UNKNOWN_ELIGIBILITY,
                        "eligibility cannot be evaluated: profile unavailable and nothing cached, "
                        "or the expression no longer checks",
                    )
                )
                continue
            if not eligible:
                suppressed.append(
                    SuppressedOffer(
                        offer.offer_id, SuppressionReason.NOT_ELIGIBLE, f"not eligible: {offer.eligibility}"
                    )
                )
                continue
        # A campaign carrying the offer holds out its own control group; an offer pushed
        # outside any campaign holds out the offer's (one hold-out, never two).
        campaign, holding_out = _carrying_campaign(offer, inputs, period)
        if holding_out is not None or (
            campaign is None
            and bandit.in_control_group(inputs.customer_id, offer.offer_id, period, offer.control_share)
        ):
            whose = f"campaign {holding_out.campaign_id}" if holding_out else f"offer {offer.offer_id}"
            suppressed.append(
                SuppressedOffer(
                    offer.offer_id,
                    SuppressionReason.CONTROL_GROUP,
                    f"account is in the control group of {whose} for {period} (no push)",
                )
            )
            continue
        request = ContactRequest(
            customer_id=inputs.customer_id,
            channel=inputs.channel,
            purpose=offer.contact_purpose,
            person_id=inputs.person_id,
            category=offer.category,
            campaign_id=campaign.campaign_id if campaign else "",
            offer_id=offer.offer_id,
        )
        decision = decide(
            request, inputs.at, inputs.now, inputs.policies, inputs.history, inputs.context, offer, campaign
        )
        if not decision.allowed:
            blocking = decision.blocking
            suppressed.append(
                SuppressedOffer(
                    offer.offer_id,
                    _rule_reason(blocking),
                    "; ".join(r.detail for r in blocking),
                    blocking,
                    decision.next_allowed_at,
                )
            )
            continue
        candidates.append(_score(offer, inputs, rng, campaign, decision))
    ranked = sorted(candidates, key=lambda c: (-c.expected_value_fen, c.offer.offer_id))
    result: list[RankedOffer] = []
    for candidate in ranked:
        if candidate.expected_value_fen <= 0:
            suppressed.append(
                SuppressedOffer(
                    candidate.offer.offer_id,
                    SuppressionReason.NEGATIVE_VALUE,
                    f"expected value {candidate.expected_value_fen / 100:.2f} yuan is not positive",
                )
            )
        elif len(result) >= inputs.max_offers:
            suppressed.append(
                SuppressedOffer(
                    candidate.offer.offer_id,
                    SuppressionReason.RANKED_OUT,
                    f"ranked below the top {inputs.max_offers}",
                )
            )
        else:
            result.append(dataclasses.replace(candidate, rank=len(result) + 1))
    degraded = tuple(dict.fromkeys((*inputs.degraded_reasons, *inputs.context.degraded_reasons)))
    return NboResult(tuple(result), tuple(suppressed), degraded, versions)


def _score(
    offer: Offer, inputs: NboInputs, rng: random.Random, campaign: Campaign | None, decision: Decision
) -> RankedOffer:
    """Propensity, boost and expected value of an allowed offer, with reasons in words."""
    stats = inputs.stats.get(offer.offer_id, bandit.ArmStats())
    post = bandit.posterior(offer.prior, stats)
    propensity = post.mean if inputs.exploit_only else post.sample(rng)
    boost, boost_words = retention_boost(offer, inputs.context, inputs.valuable_value_fen)
    expected = propensity * offer.value_fen * boost - offer.cost_fen
    segment = inputs.context.segment
    reasons = [
        f"acceptance {post.mean:.0%} in segment {segment} "
        f"({stats.accepted} accepted, {stats.declined} declined, prior {offer.prior[0]:g}/{offer.prior[1]:g})",
        f"expected value {expected / 100:,.2f} yuan = {propensity:.3f} × {offer.value_fen / 100:,.2f}"
        + (f" × {boost:.2f}" if boost != 1.0 else "")
        + f" − {offer.cost_fen / 100:,.2f}",
    ]
    if boost_words:
        reasons.append(boost_words)
    if campaign is not None:
        reasons.append(f"carried by campaign {campaign.campaign_id}")
    return RankedOffer(
        offer=offer,
        propensity=propensity,
        propensity_mean=post.mean,
        expected_value_fen=expected,
        retention_boost=boost,
        segment=segment,
        reasons=tuple(reasons),
        campaign_id=campaign.campaign_id if campaign else "",
        decision=decision,
    )
