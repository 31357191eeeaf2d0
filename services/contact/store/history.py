"""An account's history as the rules read it, in ONE statement.

Every decision (CheckContact, ReserveContact inside the account lock, GetNextBestOffer)
reads the same five things about one account: counted reservations, admin adjustments,
outcomes after a moment, and all opt-outs and consent records. They are fetched with one
UNION ALL over the five tables (each branch served by its `customer_id` index) instead of
five round trips: on the ReserveContact path this runs while the account lock is held,
so every statement saved shortens the time other callers wait for it.

The branches share one column layout: `src` says which table a row comes from and the
generic columns `s1..s5`, `u2..u4` carry the opt-out and consent fields. ReserveContact adds
a sixth branch, the earlier answer to its idempotency key, so the replay check costs no
statement of its own either.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.contact.domain.model import (
    AccountHistory,
    Channel,
    Consent,
    CountedContact,
    OfferCategory,
    OptOut,
    OptOutKind,
    OutcomeEvent,
    OutcomeKind,
    Purpose,
    ReservationState,
)
from services.contact.store.models import ReserveRequestRow
from services.contact.store.timeutil import from_us, opt_dt, to_us

_RESERVATION, _ADJUSTMENT, _OUTCOME, _OPT_OUT, _CONSENT, _KEY = 1, 2, 3, 4, 5, 6

_HISTORY = text(
    "SELECT 1 AS src, reservation_id AS id, at_us AS at, channel, purpose, person_id, campaign_id, offer_id, "
    "1 AS n, 0 AS kind, 0 AS category, '' AS s1, '' AS s2, '' AS s3, '' AS s4, '' AS s5, "
    "CAST(NULL AS BIGINT) AS u2, CAST(NULL AS BIGINT) AS u3, CAST(NULL AS BIGINT) AS u4, FALSE AS granted "
    "FROM reservations WHERE customer_id = :c AND at_us > :since "
    "AND (state = :confirmed OR (state = :reserved AND expires_at_us > :now)) "
    "UNION ALL SELECT 2, adjustment_id, at_us, channel, purpose, person_id, campaign_id, offer_id, delta, 0, 0, "
    "'', '', '', '', '', NULL, NULL, NULL, FALSE "
    "FROM adjustments WHERE customer_id = :c AND at_us > :since "
    "UNION ALL SELECT 3, outcome_id, occurred_at_us, channel, 0, person_id, campaign_id, offer_id, 0, kind, "
    "category, '', '', '', '', '', NULL, NULL, NULL, FALSE "
    "FROM outcomes WHERE customer_id = :c AND occurred_at_us > :since "
    "UNION ALL SELECT 4, opt_out_id, created_at_us, 0, 0, person_id, '', '', 0, kind, 0, channels, purposes, "
    "reason, source, removed_reason, starts_at_us, expires_at_us, removed_at_us, FALSE "
    "FROM opt_outs WHERE customer_id = :c "
    "UNION ALL SELECT 5, consent_id, recorded_at_us, channel, purpose, person_id, '', '', 0, 0, 0, source, "
    "source_ref, '', '', '', expires_at_us, NULL, NULL, granted "
    "FROM consents WHERE customer_id = :c"
)
_HISTORY_AND_KEY = text(
    str(_HISTORY)
    + " UNION ALL SELECT 6, idempotency_key, created_at_us, 0, 0, customer_id, '', '', 0, 0, 0, fingerprint, "
    "decision_id, reservation_id, '', '', NULL, NULL, NULL, FALSE FROM reserve_requests WHERE idempotency_key = :k"
)


def _enums(values: str, enum_type) -> frozenset:
    return frozenset(enum_type(int(v)) for v in values.split(",") if v)


def load_history(session: Session, customer_id: str, since: dt.datetime, now: dt.datetime) -> AccountHistory:
    """Everything the rules read about an account: counted contacts and outcomes after
    `since`, and all its opt-outs and consent records (one statement)."""
    return load_history_and_key(session, customer_id, since, now, None)[0]


def load_history_and_key(
    session: Session, customer_id: str, since: dt.datetime, now: dt.datetime, key: str | None
) -> tuple[AccountHistory, ReserveRequestRow | None]:
    """The account's history and, when `key` is given, the earlier ReserveContact answer to
    that idempotency key (a detached row; None when the key is new), in one statement."""
    params = {
        "c": customer_id,
        "since": to_us(since),
        "now": to_us(now),
        "confirmed": int(ReservationState.CONFIRMED),
        "reserved": int(ReservationState.RESERVED),
    }
    contacts: list[CountedContact] = []
    outcomes: list[OutcomeEvent] = []
    opt_outs: list[OptOut] = []
    consents: list[Consent] = []
    prior: ReserveRequestRow | None = None
    if key is not None:
        params["k"] = key
    for r in session.execute(_HISTORY if key is None else _HISTORY_AND_KEY, params).all():
        if r.src == _KEY:
            prior = ReserveRequestRow(
                idempotency_key=r.id,
                fingerprint=r.s1,
                customer_id=r.person_id,
                decision_id=r.s2,
                reservation_id=r.s3,
                created_at_us=r.at,
            )
        elif r.src in (_RESERVATION, _ADJUSTMENT):
            contacts.append(
                CountedContact(
                    at=from_us(r.at),
                    channel=Channel(r.channel),
                    purpose=Purpose(r.purpose),
                    person_id=r.person_id,
                    campaign_id=r.campaign_id,
                    offer_id=r.offer_id,
                    weight=r.n,
                    entry_id=r.id,
                )
            )
        elif r.src == _OUTCOME:
            outcomes.append(
                OutcomeEvent(
                    at=from_us(r.at),
                    kind=OutcomeKind(r.kind),
                    channel=Channel(r.channel) if r.channel else None,
                    offer_id=r.offer_id,
                    category=OfferCategory(r.category),
                    campaign_id=r.campaign_id,
                    person_id=r.person_id,
                )
            )
        elif r.src == _OPT_OUT:
            opt_outs.append(
                OptOut(
                    opt_out_id=r.id,
                    customer_id=customer_id,
                    kind=OptOutKind(r.kind),
                    reason=r.s3,
                    source=r.s4,
                    person_id=r.person_id,
                    channels=_enums(r.s1, Channel),
                    purposes=_enums(r.s2, Purpose),
                    starts_at=opt_dt(r.u2),
                    expires_at=opt_dt(r.u3),
                    removed_at=opt_dt(r.u4),
                    removed_reason=r.s5,
                    created_at=opt_dt(r.at),
                )
            )
        else:
            consents.append(
                Consent(
                    consent_id=r.id,
                    customer_id=customer_id,
                    granted=bool(r.granted),
                    source=r.s1,
                    recorded_at=from_us(r.at),
                    person_id=r.person_id,
                    channel=Channel(r.channel) if r.channel else None,
                    purpose=Purpose(r.purpose) if r.purpose else None,
                    source_ref=r.s2,
                    expires_at=opt_dt(r.u2),
                )
            )
    history = AccountHistory(
        contacts=tuple(sorted(contacts, key=lambda c: c.at)),
        outcomes=tuple(outcomes),
        opt_outs=tuple(opt_outs),
        consents=tuple(consents),
    )
    return history, prior
