"""Ledger records (reservations, adjustments, outcomes) and their state transitions.

A reservation holds one slot while RESERVED and unexpired, and for good once CONFIRMED.
CANCELLED and EXPIRED give the slot back. Transitions:

    RESERVED --confirm (before expiry)--> CONFIRMED
    RESERVED --cancel--> CANCELLED
    RESERVED --expiry time passes--> EXPIRED   (the sweeper writes it; counting never
                                                waits for the sweeper)

Confirming or cancelling twice answers the same reservation (idempotent); confirming an
expired or cancelled one, or cancelling a confirmed one, is a FAILED_PRECONDITION.

Time (TimeBounds, from the service settings):
- A contact counts at its `at` (the moment it is planned for, or now). ReserveContact takes
  `at` only within [now - behind, now + ahead]; outside that it answers INVALID_ARGUMENT on
  `contact.at`. A reservation in the future counts in every window it falls into, like any
  other (rolling windows count every contact after their start, later ones included), so
  no mix of present and future bookings puts more than a cap inside any window.
- An unconfirmed reservation holds its slot until `max(at, reserved_at) + hold`, so one
  planned for later can still be confirmed when its moment comes.
- `delivered_at` (default: now) must lie within [at - skew, now + skew]: a contact cannot
  have been made before the moment it counts at, nor in the future. Confirming a planned
  contact before its moment is therefore refused (it would count at the wrong time).
- Every decision about one reservation (confirm, cancel, expiry) reads the clock inside
  the account's lock, the same lock ReserveContact decides under: whatever one of them saw
  expired, the next one sees expired too (app/ledger.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from services.contact.domain.model import (
    Channel,
    ContactRequest,
    CountedContact,
    OfferCategory,
    OutcomeKind,
    ReservationState,
)
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

DEFAULT_HOLD = dt.timedelta(seconds=900)
MAX_HOLD = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True, slots=True)
class TimeBounds:
    """How far from now a reservation may be dated, and the allowance for clock skew."""

    behind: dt.timedelta = dt.timedelta(days=92)
    """`at` may lie this far in the past (recording contacts already made, a backlog)."""
    ahead: dt.timedelta = dt.timedelta(days=7)
    """`at` may lie this far in the future (planning)."""
    skew: dt.timedelta = dt.timedelta(minutes=5)
    """Allowance for the clocks of callers and replicas around `at` and now."""


def _fmt(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_reservation_at(at: dt.datetime, now: dt.datetime, bounds: TimeBounds, field: str = "contact.at") -> None:
    """INVALID_ARGUMENT naming `field` unless `at` is within the reservation window around now."""
    earliest, latest = now - bounds.behind, now + bounds.ahead
    if not earliest <= at <= latest:
        raise InvalidArgument(
            [
                FieldViolation(
                    field,
                    f"a reservation must be dated from {_fmt(earliest)} to {_fmt(latest)} "
                    f"(now - {bounds.behind.days} days to now + {bounds.ahead.total_seconds() / 86400:g} days)",
                    "OUT_OF_RANGE",
                )
            ]
        )


def expiry(at: dt.datetime, now: dt.datetime, hold: dt.timedelta) -> dt.datetime:
    """When an unconfirmed reservation gives its slot back: `hold` after its moment (or now)."""
    return max(at, now) + hold


def delivered_time(
    reservation: Reservation, delivered_at: dt.datetime | None, now: dt.datetime, bounds: TimeBounds
) -> dt.datetime:
    """The delivery time to record; raises unless it lies in [at - skew, now + skew].

    An explicit `delivered_at` out of range is INVALID_ARGUMENT on `delivered_at`; the
    default (now) out of range means the contact's moment has not come yet: FAILED_PRECONDITION.
    """
    at = reservation.request.at or reservation.reserved_at
    earliest, latest = at - bounds.skew, now + bounds.skew
    when = delivered_at or now
    if earliest <= when <= latest:
        return when
    if delivered_at is not None:
        raise InvalidArgument(
            [
                FieldViolation(
                    "delivered_at",
                    f"must be from {_fmt(earliest)} (the reservation's moment less {bounds.skew.total_seconds():g} s) "
                    f"to {_fmt(latest)} (now plus {bounds.skew.total_seconds():g} s)",
                    "OUT_OF_RANGE",
                )
            ]
        )
    raise FailedPrecondition(
        f"reservation {reservation.reservation_id} is for {_fmt(at)}; confirm it once the contact is made",
        metadata={"reservation_id": reservation.reservation_id, "at": at.isoformat()},
    )


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
    outcome: OutcomeKind | None = None
    """The latest outcome recorded for it (filled when listing the ledger; None: none)."""

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
        r.customer_id,
        r.person_id,
        str(int(r.channel)),
        str(int(r.purpose)),
        str(int(r.category)),
        r.campaign_id,
        r.offer_id,
        r.at.isoformat() if r.at else "",
        str(hold_seconds),
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
