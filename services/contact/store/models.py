"""SQLAlchemy 2.0 models of the contact store.

Times are integer microseconds since the epoch (UTC): exact, portable between SQLite and
PostgreSQL, and cheap to compare in the hot ReserveContact path. Definitions (policies,
offers, campaigns) and decision traces are stored as JSON documents (store/codec.py) next
to the columns that queries filter on.

Tables:
- `catalogue_generation`: one row bumped by every policy/offer/campaign change, so each
  replica notices a change on its next call and reloads (a change takes effect at once).
- `policies` / `policy_versions`, `offers` / `offer_versions`, `campaigns` /
  `campaign_versions`: current definitions and every version.
- `reservations`: the ledger of reserved contacts (RESERVED, CONFIRMED, CANCELLED,
  EXPIRED); `adjustments`: audited admin corrections; `reserve_requests`: idempotency keys
  of ReserveContact with the answer given.
- `outcomes`, `offer_stats` (answers per offer and segment for the propensity model).
- `opt_outs`, `consents`.
- `decisions`: every decision with its full trace.
- `proposals`, `processed_events`, `event_cursors`: event-triggered campaigns.
- `simulation_results` and the runtime's `jobs` table.
- `erased_accounts`: tombstones of erased accounts (store/erasure.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from telco360_runtime.audit import audit_table
from telco360_runtime.jobs import jobs_table


class Base(DeclarativeBase):
    """Declarative base of the contact store."""


JOBS = jobs_table(Base.metadata)
"""The runtime's jobs table (policy simulation jobs)."""
AUDIT = audit_table(Base.metadata)
"""The runtime's append-only audit trail (telco360_runtime.audit)."""


class CatalogueGeneration(Base):
    """Single row (id 1) counting changes of policies, offers and campaigns."""

    __tablename__ = "catalogue_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, nullable=False)


class PolicyRow(Base):
    """The latest version of a policy."""

    __tablename__ = "policies"

    policy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)


class PolicyVersionRow(Base):
    """Every version of every policy (decisions name the version they used)."""

    __tablename__ = "policy_versions"

    policy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    created_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class OfferRow(Base):
    """The latest version of an offer."""

    __tablename__ = "offers"

    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)


class OfferVersionRow(Base):
    """Every version of every offer."""

    __tablename__ = "offer_versions"

    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    created_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CampaignRow(Base):
    """The latest version of a campaign, its state and its spend."""

    __tablename__ = "campaigns"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[int] = mapped_column(Integer, nullable=False)
    spent_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    definition: Mapped[str] = mapped_column(Text, nullable=False)


class CampaignVersionRow(Base):
    """Every version of every campaign."""

    __tablename__ = "campaign_versions"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    created_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReservationRow(Base):
    """A reserved contact in the ledger."""

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_customer_at", "customer_id", "at_us"),
        Index("ix_reservations_open", "state", "expires_at_us"),
        Index("ix_reservations_campaign", "campaign_id", "at_us"),
        Index("ix_reservations_at", "at_us"),
        # Open reservations of a campaign, counted against its budget on every reservation.
        Index("ix_reservations_campaign_open", "campaign_id", "state", "expires_at_us"),
        Index("ix_reservations_reserved_at", "reserved_at_us"),  # the history retention sweep
    )

    reservation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    channel: Mapped[int] = mapped_column(Integer, nullable=False)
    purpose: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    campaign_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[int] = mapped_column(Integer, nullable=False)
    reserved_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    closed_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    external_ref: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    cancel_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    decision_id: Mapped[str] = mapped_column(String(32), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    """Account time zone known at reservation (policy simulation replays with it)."""
    tier: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Account tier known at reservation (policy simulation replays with it)."""


class ReserveRequestRow(Base):
    """An idempotency key of ReserveContact and the answer it got."""

    __tablename__ = "reserve_requests"
    __table_args__ = (Index("ix_reserve_requests_created_at", "created_at_us"),)  # the retention sweep

    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    decision_id: Mapped[str] = mapped_column(String(32), nullable=False)
    reservation_id: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    created_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AdjustmentRow(Base):
    """An audited admin correction of a counter."""

    __tablename__ = "adjustments"
    __table_args__ = (Index("ix_adjustments_customer_at", "customer_id", "at_us"),)

    adjustment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    channel: Mapped[int] = mapped_column(Integer, nullable=False)
    purpose: Mapped[int] = mapped_column(Integer, nullable=False)
    campaign_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    actor: Mapped[str] = mapped_column(String(256), nullable=False)
    """Who: caller identity and role from the authenticated call, and its request id."""
    recorded_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class OutcomeRow(Base):
    """A recorded outcome."""

    __tablename__ = "outcomes"
    __table_args__ = (
        Index("ix_outcomes_customer_at", "customer_id", "occurred_at_us"),
        Index("ix_outcomes_campaign", "campaign_id", "occurred_at_us"),
        Index("ix_outcomes_offer", "offer_id", "kind"),
        Index("ix_outcomes_reservation", "reservation_id"),
    )

    outcome_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    channel: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    category: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    campaign_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    reservation_id: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    kind: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recorded_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    segment: Mapped[str] = mapped_column(String(64), nullable=False, default="")


class OfferStatsRow(Base):
    """Customer answers per offer and segment (the propensity model's evidence)."""

    __tablename__ = "offer_stats"

    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    declined: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class OptOutRow(Base):
    """An opt-out or do-not-disturb entry."""

    __tablename__ = "opt_outs"
    __table_args__ = (Index("ix_opt_outs_customer", "customer_id"),)

    opt_out_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    kind: Mapped[int] = mapped_column(Integer, nullable=False)
    channels: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    """Channel numbers, comma-separated; empty = all channels."""
    purposes: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    """Purpose numbers, comma-separated; empty = MARKETING and RETENTION."""
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    starts_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expires_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    removed_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    removed_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ConsentRow(Base):
    """A consent grant or withdrawal with its source."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_customer", "customer_id", "recorded_at_us"),)

    consent_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    channel: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    purpose: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    source_ref: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    recorded_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DecisionRow(Base):
    """A stored decision with its trace (JSON)."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_customer", "customer_id", "decided_at_us"),
        Index("ix_decisions_decided_at", "decided_at_us"),  # the history retention sweep
    )

    decision_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    """check, reserve, nbo or proposal."""
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    decided_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class ProposalRow(Base):
    """A campaign proposal for a triggering event."""

    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_campaign", "campaign_id", "proposed_at_us"),
        Index("ix_proposals_customer", "customer_id", "proposed_at_us"),
    )

    proposal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[int] = mapped_column(Integer, nullable=False)
    proposed_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class ProcessedEventRow(Base):
    """An account event already processed (events are idempotent on source and id)."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_processed_events"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[str] = mapped_column(String(128), nullable=False)
    processed_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class EventCursorRow(Base):
    """Durable cursor of an event stream contact follows (profile's account events)."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    after_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SimulationResultRow(Base):
    """The result of a policy simulation job (JSON)."""

    __tablename__ = "simulation_results"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class ErasedAccountRow(Base):
    """An erased account's tombstone (issue #15, store/erasure.py): the account's history was
    deleted or stripped of personal fields when the erasure was applied, and contact refuses
    every later decision about it. Holds the id, the erasure's id, when, and the removed
    counts (JSON), nothing personal."""

    __tablename__ = "erased_accounts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(64), nullable=False)
    erased_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    removed: Mapped[str] = mapped_column(Text, nullable=False)
    """Item kind -> number removed or blanked, as a JSON object."""
