"""Index of a campaign's open reservations (budget check); adjustments.actor holds the caller identity.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_reservations_campaign_open", "reservations", ["campaign_id", "state", "expires_at_us"], unique=False
    )
    # SQLite does not enforce VARCHAR lengths; only PostgreSQL needs the wider column.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "adjustments",
            "actor",
            type_=sa.String(length=256),
            existing_type=sa.String(length=64),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "adjustments",
            "actor",
            type_=sa.String(length=64),
            existing_type=sa.String(length=256),
            existing_nullable=False,
        )
    op.drop_index("ix_reservations_campaign_open", table_name="reservations")
