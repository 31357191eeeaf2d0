"""Repository of campaign runs (proposals, processed events, event cursors) and the
readers that feed campaign metrics and policy simulation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.contact.domain.campaigns import Proposal
from services.contact.domain.metrics import CampaignContact
from services.contact.domain.model import (
    Channel,
    CountedContact,
    OfferCategory,
    OutcomeEvent,
    OutcomeKind,
    ProposalState,
    Purpose,
    ReservationState,
)
from services.contact.domain.simulation import AccountRecords, ReplayContact
from services.contact.store import codec
from services.contact.store.models import (
    AdjustmentRow,
    EventCursorRow,
    OutcomeRow,
    ProcessedEventRow,
    ProposalRow,
    ReservationRow,
    SimulationResultRow,
)
from services.contact.store.records import load_consents, load_opt_outs
from services.contact.store.timeutil import from_us, to_us


def claim_event(session: Session, source: str, event_id: str, now: dt.datetime) -> bool:
    """Record an event as processed; False when it was processed before."""
    exists = session.scalar(
        select(ProcessedEventRow.id).where(ProcessedEventRow.source == source, ProcessedEventRow.event_id == event_id)
    )
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ProcessedEventRow(source=source, event_id=event_id, processed_at_us=to_us(now)))
    except IntegrityError:
        return False
    return True


def insert_proposal(session: Session, proposal: Proposal) -> None:
    """Store a proposal."""
    session.add(
        ProposalRow(
            proposal_id=proposal.proposal_id,
            campaign_id=proposal.campaign_id,
            customer_id=proposal.customer_id,
            state=int(proposal.state),
            proposed_at_us=to_us(proposal.proposed_at),
            payload=codec.dumps(proposal),
        )
    )


def list_proposals(
    session: Session,
    campaign_id: str,
    customer_id: str,
    state: ProposalState | None,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Proposal]:
    """Up to `limit` proposals, newest first (time descending, then id), strictly after the
    key `after`, filtered by campaign, account and state."""
    conds = []
    if campaign_id:
        conds.append(ProposalRow.campaign_id == campaign_id)
    if customer_id:
        conds.append(ProposalRow.customer_id == customer_id)
    if state is not None:
        conds.append(ProposalRow.state == int(state))
    if after is not None:
        at, proposal_id = to_us(after[0]), after[1]
        conds.append(
            or_(
                ProposalRow.proposed_at_us < at,
                and_(ProposalRow.proposed_at_us == at, ProposalRow.proposal_id > proposal_id),
            )
        )
    rows = session.scalars(
        select(ProposalRow)
        .where(*conds)
        .order_by(ProposalRow.proposed_at_us.desc(), ProposalRow.proposal_id)
        .limit(limit)
    ).all()
    return [codec.loads(Proposal, r.payload) for r in rows]


def get_cursor(session: Session, name: str) -> int:
    """The durable cursor of an event stream (0 when new)."""
    row = session.get(EventCursorRow, name)
    return row.after_sequence if row else 0


def advance_cursor(session: Session, name: str, sequence: int) -> None:
    """Move a cursor forward (never backward: replicas may race)."""
    row = session.get(EventCursorRow, name, with_for_update=True)
    if row is None:
        session.add(EventCursorRow(name=name, after_sequence=sequence))
    elif sequence > row.after_sequence:
        row.after_sequence = sequence


# ---------------------------------------------------------------------------------------
# Campaign metrics
# ---------------------------------------------------------------------------------------


def campaign_period_facts(
    session: Session, campaign_id: str, offer_ids: tuple[str, ...], start: dt.datetime, end: dt.datetime
) -> tuple[list[Proposal], list[CampaignContact], list[tuple[str, OutcomeEvent]]]:
    """Proposals, confirmed contacts and acceptances of a campaign in [start, end)."""
    start_us, end_us = to_us(start), to_us(end)
    proposals = [
        codec.loads(Proposal, r.payload)
        for r in session.scalars(
            select(ProposalRow).where(
                ProposalRow.campaign_id == campaign_id,
                ProposalRow.proposed_at_us >= start_us,
                ProposalRow.proposed_at_us < end_us,
            )
        ).all()
    ]
    contacts = [
        CampaignContact(r.customer_id, from_us(r.at_us))
        for r in session.execute(
            select(ReservationRow.customer_id, ReservationRow.at_us).where(
                ReservationRow.campaign_id == campaign_id,
                ReservationRow.state == int(ReservationState.CONFIRMED),
                ReservationRow.at_us >= start_us,
                ReservationRow.at_us < end_us,
            )
        ).all()
    ]
    accepted = (
        session.execute(
            select(OutcomeRow).where(
                OutcomeRow.kind == int(OutcomeKind.ACCEPTED),
                OutcomeRow.occurred_at_us >= start_us,
                OutcomeRow.occurred_at_us < end_us,
                or_(OutcomeRow.campaign_id == campaign_id, OutcomeRow.offer_id.in_(offer_ids or ("",))),
            )
        )
        .scalars()
        .all()
    )
    acceptances = [
        (
            o.customer_id,
            OutcomeEvent(
                at=from_us(o.occurred_at_us), kind=OutcomeKind.ACCEPTED, offer_id=o.offer_id, campaign_id=o.campaign_id
            ),
        )
        for o in accepted
    ]
    return proposals, contacts, acceptances


# ---------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------


def simulation_inputs(
    session: Session, start: dt.datetime, end: dt.datetime, lookback: dt.timedelta, now: dt.datetime
) -> tuple[list[ReplayContact], dict[str, AccountRecords]]:
    """Contacts to replay in [start, end) and each account's records around them."""
    start_us, end_us, from_us_ = to_us(start), to_us(end), to_us(start - lookback)
    now_us = to_us(now)
    counting = or_(
        ReservationRow.state == int(ReservationState.CONFIRMED),
        and_(ReservationRow.state == int(ReservationState.RESERVED), ReservationRow.expires_at_us > now_us),
    )
    rows = session.scalars(
        select(ReservationRow).where(ReservationRow.at_us > from_us_, ReservationRow.at_us < end_us, counting)
    ).all()
    replay: list[ReplayContact] = []
    records: dict[str, AccountRecords] = defaultdict(AccountRecords)
    for r in rows:
        contact = CountedContact(
            at=from_us(r.at_us),
            channel=Channel(r.channel),
            purpose=Purpose(r.purpose),
            person_id=r.person_id,
            campaign_id=r.campaign_id,
            offer_id=r.offer_id,
            entry_id=r.reservation_id,
        )
        if r.at_us >= start_us:
            replay.append(ReplayContact(r.customer_id, contact, r.time_zone, r.tier))
        else:
            records[r.customer_id].prior.append(contact)
    for a in session.scalars(
        select(AdjustmentRow).where(AdjustmentRow.at_us > from_us_, AdjustmentRow.at_us < end_us)
    ).all():
        records[a.customer_id].prior.append(
            CountedContact(
                at=from_us(a.at_us),
                channel=Channel(a.channel),
                purpose=Purpose(a.purpose),
                person_id=a.person_id,
                campaign_id=a.campaign_id,
                offer_id=a.offer_id,
                weight=a.delta,
                entry_id=a.adjustment_id,
            )
        )
    accounts = {r.customer_id for r in replay}
    for customer_id in accounts:
        rec = records[customer_id]
        rec.prior.sort(key=lambda c: c.at)
        rec.outcomes = sorted(
            (
                OutcomeEvent(
                    at=from_us(o.occurred_at_us),
                    kind=OutcomeKind(o.kind),
                    channel=Channel(o.channel) if o.channel else None,
                    offer_id=o.offer_id,
                    category=OfferCategory(o.category),
                    campaign_id=o.campaign_id,
                    person_id=o.person_id,
                )
                for o in session.scalars(
                    select(OutcomeRow).where(
                        OutcomeRow.customer_id == customer_id,
                        OutcomeRow.occurred_at_us > from_us_,
                        OutcomeRow.occurred_at_us < end_us,
                    )
                ).all()
            ),
            key=lambda o: o.at,
        )
        rec.opt_outs = load_opt_outs(session, customer_id)
        rec.consents = load_consents(session, customer_id)
    return replay, dict(records)


def save_simulation(session: Session, job_id: str, payload: str) -> None:
    """Store a simulation job's result."""
    session.merge(SimulationResultRow(job_id=job_id, payload=payload))


def load_simulation(session: Session, job_id: str) -> str | None:
    """A simulation job's stored result, or None."""
    row = session.get(SimulationResultRow, job_id)
    return row.payload if row else None
