"""Initial scoring store: registry, champions, batch scores, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:42:57.171799
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("result_ref", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_table(
        "latest_scores",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("risk_band", sa.String(length=16), nullable=False),
        sa.Column("predicted_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("value_tier", sa.String(length=16), nullable=False),
        sa.Column("churn_model_id", sa.String(length=64), nullable=False),
        sa.Column("value_model_id", sa.String(length=64), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("features_as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "models",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("promotion_note", sa.Text(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("importance", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("best_iteration", sa.Integer(), nullable=False),
        sa.Column("logit_offset", sa.Float(), nullable=False),
        sa.Column("value_boundaries", sa.JSON(), nullable=False),
        sa.Column("model_text", sa.Text(), nullable=False),
        sa.Column("holdout", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model_id"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index("ix_models_kind_version", ["kind", "version"], unique=True)

    op.create_table(
        "score_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("churn_model_id", sa.String(length=64), nullable=False),
        sa.Column("value_model_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("band_changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_table(
        "champions",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.model_id"],
        ),
        sa.PrimaryKeyConstraint("kind"),
    )
    op.create_table(
        "scores",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("risk_band", sa.String(length=16), nullable=False),
        sa.Column("predicted_value_fen", sa.BigInteger(), nullable=True),
        sa.Column("value_tier", sa.String(length=16), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["score_batches.batch_id"],
        ),
        sa.PrimaryKeyConstraint("batch_id", "customer_id"),
    )


def downgrade() -> None:
    op.drop_table("scores")
    op.drop_table("champions")
    op.drop_table("score_batches")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index("ix_models_kind_version")

    op.drop_table("models")
    op.drop_table("latest_scores")
    op.drop_table("jobs")
