"""Use cases of next-best-offer and event-triggered campaigns.

GetNextBestOffer reads the catalogue and the account's history in one read transaction
while it gathers the account's facts (profile) and score (scoring) concurrently, from
caches when fresh, with a short deadline otherwise; whatever is missing is answered
degraded, never waited for. Offer eligibility and campaign targets are then evaluated
locally over those facts (domain/eligibility.py), each expression parsed and checked once
per catalogue generation; the ranking is plain CPU work; the answer is journaled
write-behind as a decision.

Account events (profile's WatchAccountEvents, or SubmitAccountEvent) are claimed once per
(source, event id) across replicas; each triggered campaign stores one proposal. An erased
account (erasure tombstone) gets no answer (GetNextBestOffer: AccountErased, nothing
journaled) and its events trigger nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json

from services.contact.domain import bandit, nbo, windows
from services.contact.domain.campaigns import AccountEvent, Proposal, in_schedule, propose, triggered_by
from services.contact.domain.decide import lookback
from services.contact.domain.eligibility import ExpressionCache, evaluate_all
from services.contact.domain.model import Channel, RiskBand
from services.contact.peers.errors import PeerUnavailable
from services.contact.store import erasure as erasure_repo
from services.contact.store import ledger as ledger_repo
from services.contact.store import runs
from services.contact.store.ledger import write_transaction
from services.contact.usecases.deps import Deps, Scope, require_in_scope, unknown_account
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.logs import get_logger

EVENT_CURSOR = "profile.account_events"


@dataclasses.dataclass(frozen=True)
class NboAnswer:
    """The ranking with its decision id and the numbers used."""

    result: nbo.NboResult
    decision_id: str
    context_churn: float | None
    context_band: RiskBand
    context_value: int | None


class OfferUseCases:
    """Next-best-offer and campaign proposals."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._log = get_logger()
        self._expressions = ExpressionCache()

    async def _inputs(
        self,
        customer_id: str,
        channel: Channel,
        person_id: str,
        at: dt.datetime | None,
        max_offers: int,
        exploit_only: bool,
        fresh_after: float | None = None,
    ) -> nbo.NboInputs:
        """Everything the ranking reads (store and peers read concurrently)."""
        now = self.deps.clock()
        when = at or now

        def load():
            with self.deps.db.session() as session:
                erasure_repo.refuse_if_erased(session, customer_id)  # read with the history, no extra trip
                cat = self.deps.catalogue.get(session)
                campaigns = [c for c in cat.campaigns.values() if in_schedule(c, when)]
                since = windows.shift(when, -lookback(cat.active_policies, campaigns))
                history = ledger_repo.load_history(session, customer_id, since, now)
                stats = self.deps.stats
                assert stats is not None  # set by Deps.__post_init__
                return cat, campaigns, history, stats.get(session)

        (cat, active_campaigns, history, all_stats), view = await asyncio.gather(
            self.deps.db.run(load), self.deps.peers.view(customer_id, fresh_after)
        )
        context = view.context
        texts = [o.eligibility for o in cat.offers.values()] + [c.target for c in active_campaigns]
        types = view.schema.types if view.schema else None
        compiled = self._expressions.compiled(cat.generation, view.schema.version if view.schema else 0, texts, types)
        eligibility = evaluate_all(compiled, texts, view.facts, types)
        reasons = [
            f"eligibility: {text!r} cannot be evaluated ({compiled[text].error})"
            for text in dict.fromkeys(texts)
            if text and compiled[text].error
        ]
        stats = all_stats.get(context.segment, {})
        return nbo.NboInputs(
            customer_id=customer_id,
            channel=channel,
            at=when,
            now=now,
            policies=cat.active_policies,
            offers=list(cat.offers.values()),
            campaigns=active_campaigns,
            history=history,
            context=context,
            eligibility=eligibility,
            stats={k: bandit.ArmStats(*v) for k, v in stats.items()},
            person_id=person_id,
            max_offers=max_offers,
            exploit_only=exploit_only,
            valuable_value_fen=self.deps.config.valuable_value_fen,
            degraded_reasons=tuple(reasons),
        )

    async def next_best_offer(
        self,
        customer_id: str,
        channel: Channel,
        person_id: str,
        at: dt.datetime | None,
        max_offers: int,
        exploit_only: bool,
        context_doc: dict,
        scope: Scope = None,
    ) -> NboAnswer:
        """Rank the catalogue for the account on the channel and store the answer (`scope`: the
        caller's account team, checked before anything is ranked or journaled)."""
        if not customer_id:
            raise InvalidArgument([FieldViolation("customer_id", "customer_id is required", "REQUIRED")])
        await require_in_scope(self.deps.peers, customer_id, scope)
        inputs = await self._inputs(customer_id, channel, person_id, at, max_offers, exploit_only)
        if not inputs.context.exists:
            raise unknown_account(customer_id)
        result = nbo.rank(inputs, self.deps.rng)
        decision_id = ledger_repo.new_id()
        doc = json.dumps(
            {
                "customer_id": customer_id,
                "channel": channel.name,
                "person_id": person_id,
                "context": context_doc,
                "ranked": [
                    {
                        "offer_id": r.offer.offer_id,
                        "expected_value_fen": r.expected_value_fen,
                        "propensity": r.propensity,
                        "reasons": list(r.reasons),
                    }
                    for r in result.ranked
                ],
                "suppressed": [
                    {"offer_id": s.offer_id, "reason": s.reason.name, "detail": s.detail} for s in result.suppressed
                ],
                "degraded": list(result.degraded_reasons),
                "policy_versions": list(result.policy_versions),
            },
            ensure_ascii=False,
        )

        self.deps.journal.add((decision_id, customer_id, bool(result.ranked), inputs.now, doc))
        ctx = inputs.context
        return NboAnswer(result, decision_id, ctx.churn_probability, ctx.risk_band, ctx.predicted_value_fen)

    # -- events and proposals ----------------------------------------------------------

    async def handle_event(self, event: AccountEvent) -> tuple[list[Proposal], bool, bool]:
        """Process one account event: (proposals, replayed, degraded)."""

        def claim() -> tuple[bool, bool, list]:
            with write_transaction(self.deps.db) as session:
                fresh = runs.claim_event(session, event.source, event.event_id, self.deps.clock())
                erased = erasure_repo.is_erased(session, event.customer_id)
                cat = self.deps.catalogue.get(session)
            return (
                fresh,
                erased,
                [c for c in cat.campaigns.values() if in_schedule(c, event.occurred_at) and triggered_by(c, event)],
            )

        fresh, erased, campaigns = await self.deps.db.run(claim)
        if not fresh:
            return [], True, False
        if erased or not campaigns:
            # An erased account's events are claimed (processed once) and trigger nothing.
            return [], False, False
        # Segment members cached before the event happened may not know about it yet.
        inputs = await self._inputs(
            event.customer_id,
            campaigns[0].touchpoints[0],
            "",
            None,
            1,
            True,
            fresh_after=event.occurred_at.timestamp(),
        )
        proposals: list[Proposal] = []
        for campaign in sorted(campaigns, key=lambda c: c.campaign_id):
            proposal = propose(campaign, event, inputs, self.deps.rng)
            proposals.append(dataclasses.replace(proposal, proposal_id=ledger_repo.new_id()))

        def store() -> bool:
            with write_transaction(self.deps.db) as session:
                if erasure_repo.is_erased(session, event.customer_id):
                    return False  # erased while the proposals were made: nothing is stored
                for proposal in proposals:
                    runs.insert_proposal(session, proposal)
                return True

        if not await self.deps.db.run(store):
            return [], False, False
        degraded = bool(inputs.degraded_reasons or inputs.context.degraded_reasons)
        return proposals, False, degraded

    async def list_proposals(
        self, campaign_id, customer_id, state, after, limit, scope: Scope = None
    ) -> list[Proposal]:
        """Up to `limit` proposals, newest first, after the (time, id) key `after` (`scope`: a
        scoped caller lists one of its team's accounts, so `customer_id` is then required)."""
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx():
            with self.deps.db.session() as session:
                return runs.list_proposals(session, campaign_id, customer_id, state, after, limit)

        return await self.deps.db.run(tx)

    async def follow_profile_events(self, stop: asyncio.Event, retry_seconds: float = 2.0) -> None:
        """Follow profile's account events with a durable cursor until `stop` is set."""
        while not stop.is_set():
            try:
                await self._follow_once(stop)
            except (PeerUnavailable, OSError) as error:
                code = error.code if isinstance(error, PeerUnavailable) else type(error).__name__
                self._log.info("profile_events_unavailable", code=code)
            try:
                await asyncio.wait_for(stop.wait(), retry_seconds)
            except TimeoutError:
                pass

    async def _follow_once(self, stop: asyncio.Event) -> None:
        def cursor() -> int:
            with self.deps.db.session() as session:
                return runs.get_cursor(session, EVENT_CURSOR)

        after = await self.deps.db.run(cursor)

        def advance(seq: int) -> None:
            with write_transaction(self.deps.db) as session:
                runs.advance_cursor(session, EVENT_CURSOR, seq)

        events = self.deps.peers.profile.account_events(after)
        async with contextlib.aclosing(events):
            async for sequence, event in events:
                if stop.is_set():
                    return  # closing the events cancels the stream
                if event is not None:
                    await self.handle_event(event)
                await self.deps.db.run(advance, sequence)
