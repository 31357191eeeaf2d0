"""Value analytics published with scores: `scores.analytics` (issue #19).

Scoring's base analytics (lifetime value, RFM, cluster, outlier) arrive with each account's
scores through RecordScores and are kept as JSON beside them; rows recorded before this
revision have none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("analytics", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("analytics")
