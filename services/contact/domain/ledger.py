"""Ledger records (reservations, adjustments, outcomes) and their state transitions.

A reservation holds one slot while RESERVED and unexpired, and for good once CONFIRMED.
CANCELLED and EXPIRED give the slot back. Transitions:

    RESERVED --confirm (before expiry)--> CONFIRMED
    RESERVED --cancel--> CANCELLED
    RESERVED --expiry time passes--> EXPIRED   (the sweeper writes it; counting never
                                                waits for the sweeper)

Confirming or cancelling twice answers the same reservation (idempotent); confirming an
expired or cancelled one, or cancelling a confirmed one, is a FAILED_PRECONDITION.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from telco360_runtime.errors import FailedPrecondition

from services.contact.domain.model import (
    Channel,
    ContactRequest,
    CountedContact,
    OfferCategory,
    OutcomeKind,
    ReservationState,
)

DEFAULT_HOLD = dt.timedelta(seconds=900)
MAX_HOLD = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True, slots=True)
class Reservation:
    """A reserved contact."""

    reservation_id: str
    idempotency_key: str
    request: ContactRequest
    state: ReservationState
    reserved_at: dt.datetime
    expires_at: dt.datetime
    decision_id: str
    closed_at: dt.datetime | None = None
    external_ref: str = ""
    cancel_reason: str = ""

    def effective_state(self, now: dt.datetime) -> ReservationState:
        """The state at `now` (an unconfirmed reservation past its expiry is EXPIRED)."""
        if self.state == ReservationState.RESERVED and now >= self.expires_at:
            return ReservationState.EXPIRED
        return self.state

    def counts(self, now: dt.datetime) -> bool:
        """Whether the reservation holds a slot at `now`."""
        return self.effective_state(now) in (ReservationState.RESERVED, ReservationState.CONFIRMED)

    def as_counted(self) -> CountedContact:
        """The contact as caps count it."""
        r = self.request
        return CountedContact(
            at=r.at or self.reserved_at,
            channel=r.channel,
            purpose=r.purpose,
            person_id=r.person_id,
            campaign_id=r.campaign_id,
            offer_id=r.offer_id,
            entry_id=self.reservation_id,
        )


def check_confirm(reservation: Reservation, now: dt.datetime) -> bool:
    """Whether confirming changes anything (False: already confirmed); raises when illegal."""
    state = reservation.effective_state(now)
    if state == ReservationState.CONFIRMED:
        return False
    if state != ReservationState.RESERVED:
        raise FailedPrecondition(
            f"reservation {reservation.reservation_id} is {state.name.lower()}; its slot was given back",
            metadata={"reservation_id": reservation.reservation_id, "state": state.name},
        )
    return True


def check_cancel(reservation: Reservation, now: dt.datetime) -> bool:
    """Whether cancelling changes anything (False: already cancelled or expired)."""
    state = reservation.effective_state(now)
    if state == ReservationState.CONFIRMED:
        raise FailedPrecondition(
            f"reservation {reservation.reservation_id} is confirmed; correct the counter with AdjustCounter",
            metadata={"reservation_id": reservation.reservation_id, "state": state.name},
        )
    return state == ReservationState.RESERVED


def hold_for(seconds: int) -> dt.timedelta:
    """How long an unconfirmed reservation holds its slot (default 15 minutes, max 7 days)."""
    if seconds <= 0:
        return DEFAULT_HOLD
    return min(dt.timedelta(seconds=seconds), MAX_HOLD)


def fingerprint(request: ContactRequest, hold_seconds: int) -> str:
    """A digest of what a ReserveContact asked, to tell a retry from a reused key."""
    r = request
    parts = [
        r.customer_id, r.person_id, str(int(r.channel)), str(int(r.purpose)), str(int(r.category)),
        r.campaign_id, r.offer_id, r.at.isoformat() if r.at else "", str(hold_seconds),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class Adjustment:
    """An audited admin correction of a counter."""

    adjustment_id: str
    scope: ContactRequest
    delta: int
    reason: str
    actor: str
    recorded_at: dt.datetime

    def as_counted(self) -> CountedContact:
        """The correction as caps count it (weight = delta)."""
        s = self.scope
        return CountedContact(
            at=s.at or self.recorded_at,
            channel=s.channel,
            purpose=s.purpose,
            person_id=s.person_id,
            campaign_id=s.campaign_id,
            offer_id=s.offer_id,
            weight=self.delta,
            entry_id=self.adjustment_id,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """A recorded outcome as stored and answered."""

    outcome_id: str
    customer_id: str
    kind: OutcomeKind
    occurred_at: dt.datetime
    person_id: str = ""
    channel: Channel | None = None
    offer_id: str = ""
    campaign_id: str = ""
    reservation_id: str = ""
    idempotency_key: str = ""
    category: OfferCategory = OfferCategory.UNSPECIFIED
    segment: str = ""


OFFER_OUTCOMES = frozenset(
    {OutcomeKind.SHOWN_TO_AGENT, OutcomeKind.OFFERED, OutcomeKind.ACCEPTED, OutcomeKind.DECLINED}
)
"""Outcomes that must name the offer they are about."""
