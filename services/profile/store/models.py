"""SQLAlchemy 2.0 models of profile's store.

Record versions are kept bitemporally: each row has `occurred_at` (when the fact happened),
`ingested_at` (when the suite learned it) and `superseded_at` (when a correction of the
same (source, source_record_id) replaced it; NULL while current). What was known at a
moment T is: ingested_at <= T and (superseded_at is NULL or superseded_at > T) and
occurred_at <= T.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from telco360_runtime.audit import audit_table
from telco360_runtime.jobs import jobs_table

TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic names constraints stably."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


JOBS = jobs_table(Base.metadata)
AUDIT = audit_table(Base.metadata)
"""The runtime's append-only audit trail (telco360_runtime.audit)."""


class SyncState(Base):
    """The durable cursor into the ingest log and the store-wide change counter (one row)."""

    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    ingest_last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    last_applied_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    change_counter: Mapped[int] = mapped_column(BigInteger, default=0)


class RecordKey(Base):
    """Latest applied version of each (source, source_record_id): makes apply idempotent."""

    __tablename__ = "record_keys"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))


class BillingFact(Base):
    """A version of a monthly billing record of one product line."""

    __tablename__ = "billing_facts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[int] = mapped_column(SmallInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    usage_quantity: Mapped[float] = mapped_column(Float)
    usage_unit: Mapped[str] = mapped_column(String(32))
    lines: Mapped[int] = mapped_column(Integer)
    payment_status: Mapped[int] = mapped_column(SmallInteger)
    days_overdue: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[dt.datetime] = mapped_column(TS)
    ingested_at: Mapped[dt.datetime] = mapped_column(TS)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_billing_customer_month", "customer_id", "month"),
        Index("ix_billing_key", "source", "source_record_id"),
        Index("ix_billing_month_customer", "month", "customer_id"),
    )


class CostFact(Base):
    """A version of a monthly cost record (cost of serving one account, month, line and type).

    Kept column-wise like billing so margin features read them per month; the record's free
    text note is not kept (it may name people, and no feature reads it).
    """

    __tablename__ = "cost_facts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[int] = mapped_column(SmallInteger)
    cost_type: Mapped[int] = mapped_column(SmallInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column(TS)
    ingested_at: Mapped[dt.datetime] = mapped_column(TS)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_cost_customer_month", "customer_id", "month"),
        Index("ix_cost_key", "source", "source_record_id"),
    )


class AccountFact(Base):
    """A version of any other record about an account (payload as JSON)."""

    __tablename__ = "account_facts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime] = mapped_column(TS)
    ingested_at: Mapped[dt.datetime] = mapped_column(TS)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        Index("ix_facts_customer_kind", "customer_id", "kind"),
        Index("ix_facts_key", "source", "source_record_id"),
    )


class BillingMonth(Base):
    """When each billing month first became visible (for the reference month of features)."""

    __tablename__ = "billing_months"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    first_visible_at: Mapped[dt.datetime] = mapped_column(TS)


class BillingPeriod(Base):
    """A billing month an operator declared closed, or whose missing bills profile has settled."""

    __tablename__ = "billing_periods"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    """When an operator declared the month closed (NULL: not declared; it may still be inferred)."""
    closed_by: Mapped[str] = mapped_column(String(200), default="")
    """Who declared it, or their note (no personal data)."""
    settled_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    """When the accounts still behind this closed month were last recomputed (live state)."""


class Account(Base):
    """The merged current state of one account, with its current features."""

    __tablename__ = "accounts"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    parent_customer_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    account_manager_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    """The manager the merged master data names: account-team scoping filters on it (store/scope.py)."""
    tier: Mapped[int] = mapped_column(SmallInteger, default=0)
    status: Mapped[int] = mapped_column(SmallInteger, default=1)
    master: Mapped[str] = mapped_column(Text, default="{}")
    features: Mapped[str] = mapped_column(Text, default="{}")
    revenue_12m: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_seen_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(TS)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    next_expiry_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True, index=True)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountHistory(Base):
    """A change of one master-data field."""

    __tablename__ = "account_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(80))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(TS)
    sequence: Mapped[int] = mapped_column(BigInteger)


class AttributeType(Base):
    """Type of each operator attribute seen (for expression checking and the schema)."""

    __tablename__ = "attribute_types"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))


class TagDefinitionRow(Base):
    """One version of a tag definition."""

    __tablename__ = "tag_definitions"
    tag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    expression: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    builtin: Mapped[bool] = mapped_column(Boolean)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    updated_at: Mapped[dt.datetime] = mapped_column(TS)


class AccountTag(Base):
    """A tag an account holds now."""

    __tablename__ = "account_tags"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[dt.datetime] = mapped_column(TS)
    trigger_values: Mapped[str] = mapped_column(Text)


class TagHistory(Base):
    """One tag assignment or removal."""

    __tablename__ = "tag_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    tag_id: Mapped[str] = mapped_column(String(64), index=True)
    assigned: Mapped[bool] = mapped_column(Boolean)
    rule_version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(TS)
    cause: Mapped[int] = mapped_column(SmallInteger)
    trigger_values: Mapped[str] = mapped_column(Text)


class AccountEventRow(Base):
    """One published account event (the feed contact follows)."""

    __tablename__ = "account_events"
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[int] = mapped_column(SmallInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column(TS)
    published_at: Mapped[dt.datetime] = mapped_column(TS)
    tag_id: Mapped[str] = mapped_column(String(64), default="")
    rule_version: Mapped[int] = mapped_column(Integer, default=0)
    previous_risk_band: Mapped[int] = mapped_column(SmallInteger, default=0)
    risk_band: Mapped[int] = mapped_column(SmallInteger, default=0)
    details: Mapped[str] = mapped_column(Text, default="{}")
    source_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    group_root: Mapped[str] = mapped_column(String(64), default="")


class ScoreRow(Base):
    """Scores published by scoring (history; the latest per account is current)."""

    __tablename__ = "scores"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scored_at: Mapped[dt.datetime] = mapped_column(TS, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(128), primary_key=True)
    churn_probability: Mapped[float] = mapped_column(Float)
    risk_band: Mapped[int] = mapped_column(SmallInteger)
    predicted_value_fen: Mapped[int] = mapped_column(BigInteger)
    value_horizon_months: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text)
    # ValueAnalytics as JSON (proto field names), None before the first base analytics run.
    analytics: Mapped[str | None] = mapped_column(Text, nullable=True)


class Erasure(Base):
    """Tombstone of an erased account: later log entries about it are not applied."""

    __tablename__ = "erasures"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[dt.datetime] = mapped_column(TS)
    reason: Mapped[str] = mapped_column(Text)
    purge_facts: Mapped[bool] = mapped_column(Boolean)
    removed: Mapped[str] = mapped_column(Text)


class ErasureRequest(Base):
    """One erasure of an account across the suite (EraseCustomer, retention, or the log), and its reactivation.

    `erasures` is profile's own tombstone; this row and its `erasure_progress` rows are the
    durable record the dispatcher works from until every service has applied (or lifted) it.
    """

    __tablename__ = "erasure_requests"
    erasure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    purge_facts: Mapped[bool] = mapped_column(Boolean)
    requested_at: Mapped[dt.datetime] = mapped_column(TS)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    """A later erasure of the same account replaced this one (it is history only)."""
    reactivated_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    lift_reason: Mapped[str] = mapped_column(Text, default="")
    """Why the account was reactivated (sent to every service's LiftErasure; no personal data)."""


class ErasureProgress(Base):
    """Where one service stands with one erasure (state numbers as telco360.profile.v1.ErasureState)."""

    __tablename__ = "erasure_progress"
    erasure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[int] = mapped_column(SmallInteger, index=True)
    removed: Mapped[str] = mapped_column(Text, default="{}")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)


class PendingRefresh(Base):
    """An account changed by entries applied in catch-up mode, waiting for its refresh."""

    __tablename__ = "pending_refresh"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(64))


class AccountView(Base):
    """The rendered account-level Customer360 of one account (the read model GetCustomer360 serves).

    Rebuilt in the same transaction as every change of the account, so it is never stale;
    `body` (record-derived parts) and `state` (account, features, tags, score) are opaque to
    the store (the service's renderer makes them) and concatenate into one message. The latest billed month's
    figures sit beside it so a group's fee total needs no billing query at read time.
    """

    __tablename__ = "account_views"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    last_month: Mapped[str] = mapped_column(String(7), default="")
    last_month_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    last_month_lines: Mapped[str] = mapped_column(Text, default="[]")
