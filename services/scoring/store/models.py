"""Scoring's tables (SQLAlchemy 2.0 `Mapped` models): registry, champions, scores, jobs,
erasure tombstones.

The model file is stored as LightGBM text in the registry row, so every replica can load
any version from the database alone; holdout predictions are kept (as compressed numpy
arrays) so reports can be regenerated at any time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from telco360_runtime.audit import audit_table
from telco360_runtime.jobs import jobs_table


class Base(DeclarativeBase):
    """Declarative base of the scoring store."""


class ModelRow(Base):
    """One model version in the registry."""

    __tablename__ = "models"

    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    job_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    promotion_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    importance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    best_iteration: Mapped[int] = mapped_column(Integer, nullable=False)
    logit_offset: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    logit_scale: Mapped[float] = mapped_column(Float, nullable=False, default=1.0, server_default="1.0")
    value_boundaries: Mapped[list[float]] = mapped_column(JSON, nullable=False)
    model_text: Mapped[str] = mapped_column(Text, nullable=False)
    holdout: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (Index("ix_models_kind_version", "kind", "version", unique=True),)


class ChampionRow(Base):
    """The champion of each model kind (one row per kind)."""

    __tablename__ = "champions"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), ForeignKey("models.model_id"), nullable=False)
    promoted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ScoreBatchRow(Base):
    """One ScoreAll run."""

    __tablename__ = "score_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    churn_model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    value_model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scored: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    band_changes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ScoreRow(Base):
    """One account's score in one batch (the history of batch scores)."""

    __tablename__ = "scores"

    batch_id: Mapped[str] = mapped_column(String(64), ForeignKey("score_batches.batch_id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    churn_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_band: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    predicted_value_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    value_tier: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)


class LatestScoreRow(Base):
    """Each account's latest batch score (what GetStoredScore answers, what band changes
    are measured against)."""

    __tablename__ = "latest_scores"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), nullable=False)
    churn_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_band: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    predicted_value_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    value_tier: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    churn_model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    value_model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    features_as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: The account's base analytics (issue #19: RFM, cluster, outlier, lifetime value) from the
    #: latest run; null before the first run.
    analytics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The run those analytics come from, and the account's outlier state in it ("flagged",
    #: "dismissed" or null), kept as columns so ListOutliers pages by index, not JSON.
    analytics_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outlier_state: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)


class AnalyticsRunRow(Base):
    """One base-analytics run (issue #19) with its fitted parts, so accounts can be assigned
    later against it without a refit."""

    __tablename__ = "analytics_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    accounts: Mapped[int] = mapped_column(Integer, nullable=False)
    k: Mapped[int] = mapped_column(Integer, nullable=False)
    silhouette: Mapped[float] = mapped_column(Float, nullable=False)
    seed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rfm: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    clusters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    clv: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    segment_counts: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)
    flagged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    outlier_model: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class OutlierReviewRow(Base):
    """A reviewer's decision on a flagged account: the reason codes it covered, so a dismissal
    is remembered for those codes (issue #19)."""

    __tablename__ = "outlier_reviews"

    review_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    run_id: Mapped[str] = mapped_column(String(64), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_codes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    reviewer: Mapped[str] = mapped_column(String(128), nullable=False)
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ErasedAccountRow(Base):
    """An erased account's tombstone (issue #15): its scores were deleted when the erasure was
    applied, and later scoring neither stores nor publishes anything for it. Holds the id, the
    erasure's id, when, and what was removed (counts), nothing personal."""

    __tablename__ = "erased_accounts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(64), nullable=False)
    erased_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    removed: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)


JOBS = jobs_table(Base.metadata)
AUDIT = audit_table(Base.metadata)
"""The runtime's append-only audit trail (telco360_runtime.audit)."""
