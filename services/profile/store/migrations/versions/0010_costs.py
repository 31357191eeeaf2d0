"""Monthly cost facts for margin features: `cost_facts` (issue #19).

One row per version of an ingest cost record (account, month, product line, cost type,
amount), bitemporal like `billing_facts` so margin features are point-in-time correct.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("product_line", sa.SmallInteger(), nullable=False),
        sa.Column("cost_type", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cost_facts"),
    )
    op.create_index("ix_cost_customer_month", "cost_facts", ["customer_id", "month"])
    op.create_index("ix_cost_key", "cost_facts", ["source", "source_record_id"])


def downgrade() -> None:
    op.drop_index("ix_cost_key", table_name="cost_facts")
    op.drop_index("ix_cost_customer_month", table_name="cost_facts")
    op.drop_table("cost_facts")
