"""Base analytics (issue #19): `analytics_runs`, `outlier_reviews`, `latest_scores.analytics` (+ run id, outlier state).

A run keeps its fitted parts (RFM thresholds, scaler and cluster centres with their words,
the serialized outlier detector, CLV tier bounds) so accounts can be assigned against it
later; reviews remember which reason codes a reviewer dismissed for an account.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("silhouette", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("rfm", sa.JSON(), nullable=False),
        sa.Column("clusters", sa.JSON(), nullable=False),
        sa.Column("clv", sa.JSON(), nullable=True),
        sa.Column("segment_counts", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("outlier_model", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_analytics_runs"),
    )
    op.create_index("ix_analytics_runs_created_at", "analytics_runs", ["created_at"])
    op.create_table(
        "outlier_reviews",
        sa.Column("review_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("review_id", name="pk_outlier_reviews"),
    )
    op.create_index("ix_outlier_reviews_customer_id", "outlier_reviews", ["customer_id"])
    with op.batch_alter_table("latest_scores") as batch:
        batch.add_column(sa.Column("analytics", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("analytics_run_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("outlier_state", sa.String(16), nullable=True))
    op.create_index("ix_latest_scores_outlier_state", "latest_scores", ["outlier_state"])


def downgrade() -> None:
    op.drop_index("ix_latest_scores_outlier_state", table_name="latest_scores")
    with op.batch_alter_table("latest_scores") as batch:
        batch.drop_column("outlier_state")
        batch.drop_column("analytics_run_id")
        batch.drop_column("analytics")
    op.drop_index("ix_outlier_reviews_customer_id", table_name="outlier_reviews")
    op.drop_table("outlier_reviews")
    op.drop_index("ix_analytics_runs_created_at", table_name="analytics_runs")
    op.drop_table("analytics_runs")
