"""Calibrated churn models: `models.logit_scale` (issue #17).

A churn model's probability is sigmoid(logit_scale * raw - logit_offset); Platt scaling
fitted out of fold sets both. Versions registered before keep scale 1 (the prior
correction alone), which is what they were served with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("logit_scale", sa.Float(), nullable=False, server_default="1.0"))


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("logit_scale")
