"""Customer360 read model in two parts: the recomputed state apart from the record-derived body.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Views stored whole by 0003 would be read twice over; they are rebuilt on the next change.
    op.execute("DELETE FROM account_views")
    op.add_column("account_views", sa.Column("state", sa.LargeBinary(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("account_views", "state")
