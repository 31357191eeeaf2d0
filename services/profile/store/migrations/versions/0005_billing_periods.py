"""Billing periods: months declared closed and settled, and bills counted per month.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_periods",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("month", name="pk_billing_periods"),
    )
    # Accounts billed per month (whether a month is closed) are counted on every recompute.
    op.create_index("ix_billing_month_customer", "billing_facts", ["month", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_billing_month_customer", table_name="billing_facts")
    op.drop_table("billing_periods")
