"""What contact needs from profile and scoring about an account, cached so that a live call
never waits on a peer that is down or slow (peers layer; caching rules in peers.cache).

Sources: one GetCustomer360 per account (peers.profile) gives the time zone, tier, contact
persons (preferred hours), the current features and tags, and profile's recorded score;
scoring's ScoreCustomers (peers.scoring) gives the live churn risk and value (profile's
recorded score is the fallback when scoring is down). Both are fetched concurrently and
cached per account (`context_ttl_seconds`, `score_ttl_seconds`); "profile does not know
this account" is not cached. Offer eligibility and campaign targets are evaluated locally
over those facts (domain/eligibility.py, the shared expression library), so they cost no
call of their own; profile's feature schema (names and types, to check expressions) is
fetched once per `schema_ttl_seconds`.
"""

from __future__ import annotations

import asyncio
import dataclasses

import grpc

from services.contact.domain.eligibility import AccountFacts, with_live_score
from services.contact.domain.model import AccountContext, RiskBand
from services.contact.peers.cache import Fetched, PeerCache
from services.contact.peers.profile import FeatureSchema, ProfileClient, ProfileFacts
from services.contact.peers.scoring import ScoreFacts, ScoringClient


@dataclasses.dataclass(frozen=True)
class AccountView:
    """An account's context for the rules, its facts for eligibility, and the schema."""

    context: AccountContext
    facts: AccountFacts | None
    """None when profile is unavailable and nothing is cached."""
    schema: FeatureSchema | None
    """Profile's feature schema; None when it could not be fetched yet."""


class Peers:
    """Profile and scoring, behind caches."""

    def __init__(
        self,
        profile_channel: grpc.aio.Channel,
        scoring_channel: grpc.aio.Channel,
        *,
        timeout: float,
        retry_after: float,
        context_ttl: float,
        score_ttl: float,
        schema_ttl: float,
        max_stale: float,
    ) -> None:
        self.profile = ProfileClient(profile_channel, timeout)
        self.scoring = ScoringClient(scoring_channel, timeout)
        self._channels = (profile_channel, scoring_channel)
        self.timeout = timeout
        self.facts: PeerCache[ProfileFacts] = PeerCache(
            "profile", context_ttl, max_stale, retry_after, timeout, keep=lambda facts: facts.found
        )
        self.scores: PeerCache[ScoreFacts | None] = PeerCache("scoring", score_ttl, max_stale, retry_after, timeout)
        self.schema: PeerCache[FeatureSchema] = PeerCache("profile", schema_ttl, max_stale, retry_after, timeout)

    async def close(self) -> None:
        """Close the peer channels (at once, no grace)."""
        for channel in self._channels:
            await channel.close(None)

    async def view(self, customer_id: str, fresh_after: float | None = None) -> AccountView:
        """Context, facts (with the live score laid over) and schema, fetched concurrently.

        `fresh_after` (a time.time() instant) refetches profile facts cached before it, so an
        event is evaluated against facts that know about it.
        """
        (facts, score, schema) = await asyncio.gather(
            self.facts.get(customer_id, lambda: self.profile.customer_facts(customer_id), fresh_after),
            self.scores.get(customer_id, lambda: self.scoring.score(customer_id)),
            self.schema.get("schema", self.profile.feature_schema),
        )
        context = _context(customer_id, facts, score)
        account = None
        if facts.value is not None:
            account = with_live_score(
                facts.value.facts,
                context.churn_probability,
                context.risk_band.name if context.risk_band else "",
                context.predicted_value_fen,
            )
        return AccountView(context, account, schema.value)

    async def account_manager(self, customer_id: str) -> str | None:
        """The manager profile names for the account: "" when profile does not know it, None when
        profile is unavailable and nothing is cached (from the same cache as the account's facts)."""
        facts = await self.facts.get(customer_id, lambda: self.profile.customer_facts(customer_id))
        if facts.value is None:
            return None
        return facts.value.account_manager_id if facts.value.found else ""

    async def context(self, customer_id: str, with_score: bool = True) -> AccountContext:
        """The account's context; unknown fields default and degraded reasons are listed."""
        if not with_score:
            return _context(
                customer_id, await self.facts.get(customer_id, lambda: self.profile.customer_facts(customer_id))
            )
        facts, score = await asyncio.gather(
            self.facts.get(customer_id, lambda: self.profile.customer_facts(customer_id)),
            self.scores.get(customer_id, lambda: self.scoring.score(customer_id)),
        )
        return _context(customer_id, facts, score)


def _context(
    customer_id: str, facts: Fetched[ProfileFacts], score: Fetched[ScoreFacts | None] | None = None
) -> AccountContext:
    """The rules' view of an account from what profile and (optionally) scoring answered."""
    reasons = [facts.degraded] if facts.degraded else []
    profile = facts.value
    churn: float | None = None
    band = RiskBand.UNSPECIFIED
    value: int | None = None
    if score is not None:
        if score.value is not None:
            churn, band, value = (
                score.value.churn_probability,
                RiskBand(score.value.risk_band),
                score.value.predicted_value_fen,
            )
        if score.degraded:
            if score.value is None and profile is not None and profile.churn_probability is not None:
                churn, band, value = profile.churn_probability, RiskBand(profile.risk_band), profile.predicted_value_fen
                reasons.append(score.degraded.split(":")[0] + ": using profile's recorded score")
            else:
                reasons.append(score.degraded)
    return AccountContext(
        customer_id=customer_id,
        time_zone=profile.time_zone if profile else "",
        tier=profile.tier if profile else 0,
        persons=profile.persons if profile else {},
        churn_probability=churn,
        risk_band=band,
        predicted_value_fen=value,
        degraded_reasons=tuple(reasons),
        exists=profile is None or profile.found,
    )
