"""Erasure tombstones: `erased_accounts` (one row per erased account, issue #15), and indexes
by record time on decisions, reservations and reserve requests for the history retention sweep.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_accounts",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("erasure_id", sa.String(64), nullable=False),
        sa.Column("erased_at_us", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_erased_accounts"),
    )
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at_us"])
    op.create_index("ix_reserve_requests_created_at", "reserve_requests", ["created_at_us"])
    op.create_index("ix_reservations_reserved_at", "reservations", ["reserved_at_us"])


def downgrade() -> None:
    op.drop_index("ix_reservations_reserved_at", table_name="reservations")
    op.drop_index("ix_reserve_requests_created_at", table_name="reserve_requests")
    op.drop_index("ix_decisions_decided_at", table_name="decisions")
    op.drop_table("erased_accounts")
