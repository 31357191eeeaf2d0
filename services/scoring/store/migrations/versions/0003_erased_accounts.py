"""Erasure tombstones: `erased_accounts` (one row per erased account, issue #15).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_accounts",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("erasure_id", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_erased_accounts"),
    )


def downgrade() -> None:
    op.drop_table("erased_accounts")
