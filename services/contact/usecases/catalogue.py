"""Use cases of the catalogue: policies, offers and campaigns (versioned, validated).

Offer eligibility and campaign targets are profile expressions: they are validated by
profile's ValidateExpression on create and update (one implementation of the language).
Their syntax and size are checked here first, without profile; a request that is bad in
any way is answered INVALID_ARGUMENT with every violation (the caller's collector, if
given, holds those found before), and only a request otherwise good waits for profile:
when profile cannot be reached it is refused with UNAVAILABLE rather than stored unchecked.
"""

from __future__ import annotations

import dataclasses

from services.contact.domain import validation
from services.contact.domain.model import Campaign, CampaignState, Offer, OfferCategory, Policy
from services.contact.peers.errors import PeerUnavailable
from services.contact.store import catalogue as repo
from services.contact.store.ledger import write_transaction
from services.contact.usecases.deps import Deps
from telco360_expr import EXPRESSION_SYNTAX
from telco360_runtime.errors import FailedPrecondition, Unavailable, ViolationCollector


class CatalogueUseCases:
    """Policies, offers and campaigns."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _check_expression(self, expression: str, path: str, errors: ViolationCollector) -> None:
        """Add the expression's violations to `errors`: syntax locally, names and types by profile."""
        if not expression or not validation.check_expression_syntax(errors, path, expression):
            return
        try:
            reply = await self.deps.peers.profile.validate_expression(expression)
        except PeerUnavailable as error:
            if errors.violations:
                return  # the request is refused as INVALID_ARGUMENT anyway
            raise Unavailable("profile", "profile is needed to validate the expression; try again later") from error
        if not reply.valid:
            # Profile's message names the position already ("position 22: ...").
            message = reply.error_message or "invalid expression"
            if not message.startswith("position "):
                message = f"position {reply.error_position}: {message}"
            errors.add(path, message, reply.error_reason or EXPRESSION_SYNTAX)

    # -- policies ----------------------------------------------------------------------

    async def create_policy(self, policy: Policy, actor: str) -> Policy:
        """Validate and store version 1."""
        validation.validate_policy(policy)
        db, now = self.deps.db, self.deps.clock()
        stamped = dataclasses.replace(policy, created_by=actor)
        return await db.run(self._write, lambda s: repo.create_policy(s, stamped, now))

    async def update_policy(self, policy: Policy, expected_version: int, actor: str) -> Policy:
        """Validate and store the next version (effective on the next decision)."""
        validation.validate_policy(policy)
        now = self.deps.clock()
        stamped = dataclasses.replace(policy, created_by=actor)
        return await self.deps.db.run(self._write, lambda s: repo.update_policy(s, stamped, expected_version, now))

    async def get_policy(self, policy_id: str, version: int) -> Policy:
        """One version of a policy."""
        return await self.deps.db.run(self._read, lambda s: repo.get_policy(s, policy_id, version))

    async def list_policies(self, active_only: bool, after: str, limit: int) -> tuple[list[Policy], int]:
        """Up to `limit` policies by id after the id `after` (keyset page), and the total."""
        return await self.deps.db.run(self._read, lambda s: repo.list_policies(s, active_only, after, limit))

    # -- offers ------------------------------------------------------------------------

    async def _validate_offer(self, offer: Offer, errors: ViolationCollector | None) -> None:
        errors = errors if errors is not None else ViolationCollector()
        validation.collect_offer(offer, errors)
        await self._check_expression(offer.eligibility, "offer.eligibility", errors)
        validation.raise_all(errors)

    async def create_offer(self, offer: Offer, errors: ViolationCollector | None = None) -> Offer:
        """Validate (eligibility through profile) and store version 1."""
        await self._validate_offer(offer, errors)
        now = self.deps.clock()
        return await self.deps.db.run(self._write, lambda s: repo.create_offer(s, offer, now))

    async def update_offer(
        self, offer: Offer, expected_version: int, errors: ViolationCollector | None = None
    ) -> Offer:
        """Validate and store the next version."""
        await self._validate_offer(offer, errors)
        now = self.deps.clock()
        return await self.deps.db.run(self._write, lambda s: repo.update_offer(s, offer, expected_version, now))

    async def get_offer(self, offer_id: str) -> Offer:
        """The latest version of an offer."""
        return await self.deps.db.run(self._read, lambda s: repo.get_offer(s, offer_id))

    async def list_offers(
        self, active_only: bool, category: OfferCategory | None, after: str, limit: int, valid_at=None
    ) -> tuple[list[Offer], int]:
        """Up to `limit` offers by id after the id `after` (keyset page), and the total
        (active_only filters by availability at valid_at)."""
        offers, total = await self.deps.db.run(self._read, lambda s: repo.list_offers(s, category, "", 100_000))
        if active_only:
            when = valid_at or self.deps.clock()
            offers = [
                o
                for o in offers
                if o.active
                and (o.valid_from is None or o.valid_from <= when)
                and (o.valid_until is None or when < o.valid_until)
            ]
            total = len(offers)
        return [o for o in offers if o.offer_id > after][:limit], total

    # -- campaigns ---------------------------------------------------------------------

    async def _validate_campaign(self, campaign: Campaign, errors: ViolationCollector | None) -> None:
        errors = errors if errors is not None else ViolationCollector()
        offers = await self.deps.db.run(self._read, lambda s: {o.offer_id for o in repo.all_offers(s)})
        validation.collect_campaign(campaign, offers, errors)
        await self._check_expression(campaign.target, "campaign.target", errors)
        validation.raise_all(errors)

    async def create_campaign(self, campaign: Campaign, errors: ViolationCollector | None = None) -> Campaign:
        """Validate and store version 1 (ACTIVE takes effect at once)."""
        await self._validate_campaign(campaign, errors)
        now = self.deps.clock()
        return await self.deps.db.run(self._write, lambda s: repo.create_campaign(s, campaign, now))

    async def update_campaign(
        self, campaign: Campaign, expected_version: int, errors: ViolationCollector | None = None
    ) -> Campaign:
        """Validate and store the next version (effective at once)."""
        await self._validate_campaign(campaign, errors)
        now = self.deps.clock()

        def write(session):
            current = repo.get_campaign(session, campaign.campaign_id, for_update=True)
            if current.state == CampaignState.ENDED:
                raise FailedPrecondition(f"campaign {campaign.campaign_id} has ended")
            return repo.update_campaign(session, campaign, expected_version, now)

        return await self.deps.db.run(self._write, write)

    async def set_state(self, campaign_id: str, state: CampaignState) -> Campaign:
        """Pause or resume (idempotent)."""
        now = self.deps.clock()

        def write(session):
            current = repo.get_campaign(session, campaign_id, for_update=True)
            if current.state == CampaignState.ENDED:
                raise FailedPrecondition(f"campaign {campaign_id} has ended and cannot change state")
            return repo.set_campaign_state(session, campaign_id, state, now)

        return await self.deps.db.run(self._write, write)

    async def get_campaign(self, campaign_id: str) -> Campaign:
        """One campaign."""
        return await self.deps.db.run(self._read, lambda s: repo.get_campaign(s, campaign_id))

    async def list_campaigns(self, state: CampaignState | None, after: str, limit: int) -> tuple[list[Campaign], int]:
        """Up to `limit` campaigns by id after the id `after` (keyset page), and the total."""
        return await self.deps.db.run(self._read, lambda s: repo.list_campaigns(s, state, after, limit))

    # -- transactions ------------------------------------------------------------------

    def _write(self, fn):
        with write_transaction(self.deps.db) as session:
            return fn(session)

    def _read(self, fn):
        with self.deps.db.session() as session:
            return fn(session)
