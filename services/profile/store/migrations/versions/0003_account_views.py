"""Customer360 read model: each account's rendered view, rebuilt with every change of the account.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_views",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("last_month", sa.String(length=7), nullable=False),
        sa.Column("last_month_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("last_month_lines", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_account_views")),
    )


def downgrade() -> None:
    op.drop_table("account_views")
