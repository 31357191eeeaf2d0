"""Index of outcomes by reservation (ListLedger shows each contact's latest outcome).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 19:00:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outcomes_reservation", "outcomes", ["reservation_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outcomes_reservation", table_name="outcomes")
