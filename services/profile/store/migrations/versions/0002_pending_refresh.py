"""Accounts waiting for their refresh after entries applied in catch-up mode.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_refresh",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_pending_refresh")),
    )


def downgrade() -> None:
    op.drop_table("pending_refresh")
