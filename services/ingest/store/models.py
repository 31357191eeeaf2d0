"""SQLAlchemy 2.0 models of the ingest store.

- `ingest_log_head`: one row holding the last sequence handed out. Every writing
  transaction updates it first, which serialises writers (a row lock on PostgreSQL, the
  write lock on SQLite) so sequences are gap-free and commit in sequence order: a reader
  that has seen sequence N can never later find a smaller one committed behind it.
- `ingest_records`: the latest version of each (source, source_record_id).
- `ingest_log`: every accepted record and correction, in sequence order, as canonical JSON.
- `ingest_quarantine` and `ingest_quarantine_violations`: rejected records with reasons.
- `erased_accounts`: one tombstone per erased account (issue #15): its log payloads are
  blanked and marked erased, its quarantine entries deleted, its later records refused.

Times are integer microseconds since the epoch (UTC): exact, portable between SQLite and
PostgreSQL, and cheap to convert on the ReadLog hot path. The tombstone's `erased_at` is a
timestamp with time zone, as in every service's `erased_accounts`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from telco360_runtime.audit import audit_table


class Base(DeclarativeBase):
    """Declarative base of the ingest store."""


AUDIT = audit_table(Base.metadata)
"""The runtime's append-only audit trail (telco360_runtime.audit)."""


class LogHead(Base):
    """The single-row sequence counter (id is always 1)."""

    __tablename__ = "ingest_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)


class RecordRow(Base):
    """Latest version of one record."""

    __tablename__ = "ingest_records"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LogRow(Base):
    """One log entry: a record version with its sequence number."""

    __tablename__ = "ingest_log"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    source_record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ingested_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    """Canonical JSON of the normalised record (domain/hashing.py); personal fields blanked
    once `scrubbed` (domain/erasure.py)."""
    erased: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """The record's account was erased (ReadLog answers `LogEntry.erased`)."""
    scrubbed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """The payload's personal fields are blanked (by an erasure or by log payload retention)."""

    __table_args__ = (
        Index("ix_ingest_log_customer", "customer_id"),
        Index("ix_ingest_log_unscrubbed", "scrubbed", "ingested_at_us"),
    )


class QuarantineRow(Base):
    """A rejected record as received, with its violations."""

    __tablename__ = "ingest_quarantine"
    __table_args__ = (
        Index("ix_ingest_quarantine_key", "source", "source_record_id"),
        Index("ix_ingest_quarantine_open", "resolved", "received_at_us"),
        Index("ix_ingest_quarantine_customer", "customer_id"),
        Index("ix_ingest_quarantine_received", "received_at_us"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(256), nullable=False)
    source_record_id: Mapped[str] = mapped_column(String(256), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(256), nullable=False)
    raw_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record: Mapped[str] = mapped_column(Text, nullable=False)
    """The record as received (JSON of the domain dict)."""
    violations: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON list of [field, description, reason]."""
    received_at_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    resolved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    resolved_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class QuarantineViolationRow(Base):
    """One violation of a quarantine entry, indexed for the reason / field filter."""

    __tablename__ = "ingest_quarantine_violations"

    quarantine_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("ingest_quarantine.id", ondelete="CASCADE"),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str] = mapped_column(String(256), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


class ErasedAccountRow(Base):
    """An erased account's tombstone: the id, the erasure's id, when, and what was removed
    (counts), nothing personal. Later records of the account are refused while it exists."""

    __tablename__ = "erased_accounts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(64), nullable=False)
    erased_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    removed: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)
