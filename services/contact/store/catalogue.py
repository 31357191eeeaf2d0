"""Repository of policies, offers and campaigns (current definitions and every version).

Every change bumps `catalogue_generation` in the same transaction, so replicas reload
their cached catalogue on their next call (store/cache.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, func, select, text, update
from sqlalchemy.orm import Session

from services.contact.domain.model import Campaign, CampaignState, Offer, OfferCategory, Policy, ReservationState
from services.contact.store import codec
from services.contact.store.models import (
    CampaignRow,
    CampaignVersionRow,
    CatalogueGeneration,
    OfferRow,
    OfferVersionRow,
    PolicyRow,
    PolicyVersionRow,
)
from services.contact.store.timeutil import to_us
from telco360_runtime.errors import Aborted, AlreadyExists, NotFound

T = TypeVar("T")


_GENERATION = text("SELECT generation FROM catalogue_generation WHERE id = 1")


def generation(session: Session) -> int:
    """The current catalogue generation (0 before any change)."""
    value = session.execute(_GENERATION).scalar()
    return int(value or 0)


def bump_generation(session: Session) -> None:
    """Mark the catalogue changed (same transaction as the change)."""
    result = session.execute(
        update(CatalogueGeneration)
        .where(CatalogueGeneration.id == 1)
        .values(generation=CatalogueGeneration.generation + 1)
    )
    updated = cast(CursorResult[Any], result).rowcount
    if not updated:
        session.add(CatalogueGeneration(id=1, generation=1))


# ---------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------


def create_policy(session: Session, policy: Policy, now: dt.datetime) -> Policy:
    """Store version 1 of a new policy; ALREADY_EXISTS when the id is taken."""
    if session.get(PolicyRow, policy.policy_id) is not None:
        raise AlreadyExists("policy", policy.policy_id)
    stored = dataclasses.replace(policy, version=1, created_at=now)
    text = codec.dumps(stored)
    session.add(PolicyRow(policy_id=policy.policy_id, version=1, active=policy.active, definition=text))
    session.add(PolicyVersionRow(policy_id=policy.policy_id, version=1, definition=text, created_at_us=to_us(now)))
    bump_generation(session)
    return stored


def update_policy(session: Session, policy: Policy, expected_version: int, now: dt.datetime) -> Policy:
    """Store the next version of a policy (ABORTED when expected_version does not match)."""
    row = session.get(PolicyRow, policy.policy_id, with_for_update=True)
    if row is None:
        raise NotFound("policy", policy.policy_id)
    if expected_version and expected_version != row.version:
        raise Aborted(
            f"policy {policy.policy_id} is at version {row.version}, not {expected_version}",
            metadata={"current_version": str(row.version)},
        )
    stored = dataclasses.replace(policy, version=row.version + 1, created_at=now)
    text = codec.dumps(stored)
    row.version, row.active, row.definition = stored.version, stored.active, text
    session.add(
        PolicyVersionRow(policy_id=policy.policy_id, version=stored.version, definition=text, created_at_us=to_us(now))
    )
    bump_generation(session)
    return stored


def get_policy(session: Session, policy_id: str, version: int = 0) -> Policy:
    """One version of a policy (latest when version is 0)."""
    row: PolicyVersionRow | PolicyRow | None
    if version:
        row = session.get(PolicyVersionRow, (policy_id, version))
    else:
        row = session.get(PolicyRow, policy_id)
    if row is None:
        raise NotFound("policy", f"{policy_id}@{version}" if version else policy_id)
    return codec.loads(Policy, row.definition)


def list_policies(session: Session, active_only: bool, after: str, limit: int) -> tuple[list[Policy], int]:
    """Up to `limit` latest policies by id after the id `after` ("" = from the start), and
    the total count of the listing."""
    query = select(PolicyRow)
    count = select(func.count()).select_from(PolicyRow)
    if active_only:
        query, count = query.where(PolicyRow.active.is_(True)), count.where(PolicyRow.active.is_(True))
    if after:
        query = query.where(PolicyRow.policy_id > after)
    rows = session.scalars(query.order_by(PolicyRow.policy_id).limit(limit)).all()
    return [codec.loads(Policy, r.definition) for r in rows], int(session.scalar(count) or 0)


def all_policies(session: Session) -> list[Policy]:
    """Every policy's latest version."""
    return [codec.loads(Policy, r.definition) for r in session.scalars(select(PolicyRow)).all()]


# ---------------------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------------------


def create_offer(session: Session, offer: Offer, now: dt.datetime) -> Offer:
    """Store version 1 of a new offer."""
    if session.get(OfferRow, offer.offer_id) is not None:
        raise AlreadyExists("offer", offer.offer_id)
    stored = dataclasses.replace(offer, version=1)
    text = codec.dumps(stored)
    session.add(
        OfferRow(offer_id=offer.offer_id, version=1, category=int(offer.category), active=offer.active, definition=text)
    )
    session.add(OfferVersionRow(offer_id=offer.offer_id, version=1, definition=text, created_at_us=to_us(now)))
    bump_generation(session)
    return stored


def update_offer(session: Session, offer: Offer, expected_version: int, now: dt.datetime) -> Offer:
    """Store the next version of an offer."""
    row = session.get(OfferRow, offer.offer_id, with_for_update=True)
    if row is None:
        raise NotFound("offer", offer.offer_id)
    if expected_version and expected_version != row.version:
        raise Aborted(f"offer {offer.offer_id} is at version {row.version}, not {expected_version}")
    stored = dataclasses.replace(offer, version=row.version + 1)
    text = codec.dumps(stored)
    row.version, row.category, row.active, row.definition = stored.version, int(offer.category), offer.active, text
    session.add(
        OfferVersionRow(offer_id=offer.offer_id, version=stored.version, definition=text, created_at_us=to_us(now))
    )
    bump_generation(session)
    return stored


def get_offer(session: Session, offer_id: str) -> Offer:
    """The latest version of an offer."""
    row = session.get(OfferRow, offer_id)
    if row is None:
        raise NotFound("offer", offer_id)
    return codec.loads(Offer, row.definition)


def all_offers(session: Session) -> list[Offer]:
    """Every offer's latest version."""
    return [codec.loads(Offer, r.definition) for r in session.scalars(select(OfferRow)).all()]


def list_offers(session: Session, category: OfferCategory | None, after: str, limit: int) -> tuple[list[Offer], int]:
    """Up to `limit` offers by id after the id `after` (optionally one category), and the
    total count of the listing."""
    query = select(OfferRow)
    count = select(func.count()).select_from(OfferRow)
    if category is not None:
        query, count = query.where(OfferRow.category == int(category)), count.where(OfferRow.category == int(category))
    if after:
        query = query.where(OfferRow.offer_id > after)
    rows = session.scalars(query.order_by(OfferRow.offer_id).limit(limit)).all()
    return [codec.loads(Offer, r.definition) for r in rows], int(session.scalar(count) or 0)


# ---------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------


def _campaign(row: CampaignRow) -> Campaign:
    campaign = codec.loads(Campaign, row.definition)
    return dataclasses.replace(campaign, state=CampaignState(row.state), spent_fen=row.spent_fen, version=row.version)


def create_campaign(session: Session, campaign: Campaign, now: dt.datetime) -> Campaign:
    """Store version 1 of a new campaign."""
    if session.get(CampaignRow, campaign.campaign_id) is not None:
        raise AlreadyExists("campaign", campaign.campaign_id)
    stored = dataclasses.replace(campaign, version=1, updated_at=now, spent_fen=0)
    text = codec.dumps(stored)
    session.add(
        CampaignRow(campaign_id=campaign.campaign_id, version=1, state=int(stored.state), spent_fen=0, definition=text)
    )
    session.add(
        CampaignVersionRow(campaign_id=campaign.campaign_id, version=1, definition=text, created_at_us=to_us(now))
    )
    bump_generation(session)
    return stored


def update_campaign(session: Session, campaign: Campaign, expected_version: int, now: dt.datetime) -> Campaign:
    """Store the next version of a campaign (its spend carries over)."""
    row = session.get(CampaignRow, campaign.campaign_id, with_for_update=True)
    if row is None:
        raise NotFound("campaign", campaign.campaign_id)
    if expected_version and expected_version != row.version:
        raise Aborted(f"campaign {campaign.campaign_id} is at version {row.version}, not {expected_version}")
    stored = dataclasses.replace(campaign, version=row.version + 1, updated_at=now, spent_fen=row.spent_fen)
    text = codec.dumps(stored)
    row.version, row.state, row.definition = stored.version, int(stored.state), text
    session.add(
        CampaignVersionRow(
            campaign_id=campaign.campaign_id, version=stored.version, definition=text, created_at_us=to_us(now)
        )
    )
    bump_generation(session)
    return stored


def set_campaign_state(session: Session, campaign_id: str, state: CampaignState, now: dt.datetime) -> Campaign:
    """Change a campaign's state (pause, resume) as a new version."""
    current = get_campaign(session, campaign_id, for_update=True)
    if current.state == state:
        return current
    return update_campaign(session, dataclasses.replace(current, state=state), 0, now)


def get_campaign(session: Session, campaign_id: str, for_update: bool = False) -> Campaign:
    """The latest version of a campaign with its state and spend."""
    row = session.get(CampaignRow, campaign_id, with_for_update=for_update)
    if row is None:
        raise NotFound("campaign", campaign_id)
    return _campaign(row)


def all_campaigns(session: Session) -> list[Campaign]:
    """Every campaign's latest version."""
    return [_campaign(r) for r in session.scalars(select(CampaignRow)).all()]


def list_campaigns(session: Session, state: CampaignState | None, after: str, limit: int) -> tuple[list[Campaign], int]:
    """Up to `limit` campaigns by id after the id `after` (optionally in one state), and the
    total count of the listing."""
    query = select(CampaignRow)
    count = select(func.count()).select_from(CampaignRow)
    if state is not None:
        query, count = query.where(CampaignRow.state == int(state)), count.where(CampaignRow.state == int(state))
    if after:
        query = query.where(CampaignRow.campaign_id > after)
    rows = session.scalars(query.order_by(CampaignRow.campaign_id).limit(limit)).all()
    return [_campaign(r) for r in rows], int(session.scalar(count) or 0)


def lock_campaign_budget(session: Session, campaign_id: str, now: dt.datetime) -> tuple[int, int]:
    """(spend, reservations open now) of a campaign, holding its row lock until commit.

    ReserveContact calls this in its transaction, after the account lock: reservations of
    different accounts for the same campaign then queue on the campaign row, and each one
    sees the spend and the open reservations of those committed before it (PostgreSQL READ
    COMMITTED re-reads after a lock wait; SQLite writers are serialised anyway). Lock order
    is always account, then campaign, so it cannot deadlock with ConfirmContact.
    """
    spent = session.scalar(
        select(CampaignRow.spent_fen).where(CampaignRow.campaign_id == campaign_id).with_for_update()
    )
    open_now = session.execute(
        _OPEN_RESERVATIONS,
        {
            "c": campaign_id,
            "reserved": int(ReservationState.RESERVED),
            "now": to_us(now),
        },
    ).scalar()
    return int(spent or 0), int(open_now or 0)


_OPEN_RESERVATIONS = text(
    "SELECT count(*) FROM reservations WHERE campaign_id = :c AND state = :reserved AND expires_at_us > :now"
)


def campaign_spent(session: Session, campaign_id: str) -> int:
    """A campaign's spend now (read fresh: it changes without a catalogue generation)."""
    return int(session.scalar(select(CampaignRow.spent_fen).where(CampaignRow.campaign_id == campaign_id)) or 0)


def add_campaign_spend(session: Session, campaign_id: str, amount_fen: int) -> None:
    """Add to a campaign's spend (a confirmed contact, an accepted offer's cost)."""
    if amount_fen:
        session.execute(
            update(CampaignRow)
            .where(CampaignRow.campaign_id == campaign_id)
            .values(spent_fen=CampaignRow.spent_fen + amount_fen)
        )
