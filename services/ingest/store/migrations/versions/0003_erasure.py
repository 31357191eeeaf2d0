"""Erasure and retention (issue #15): `erased_accounts` tombstones; `ingest_log.erased` and
`ingest_log.scrubbed`; indexes to find an account's log and quarantine entries and the
entries past a retention period.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 12:10:00
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
    with op.batch_alter_table("ingest_log") as batch:
        batch.add_column(sa.Column("erased", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("scrubbed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_ingest_log_customer", "ingest_log", ["customer_id"])
    op.create_index("ix_ingest_log_unscrubbed", "ingest_log", ["scrubbed", "ingested_at_us"])
    op.create_index("ix_ingest_quarantine_customer", "ingest_quarantine", ["customer_id"])
    op.create_index("ix_ingest_quarantine_received", "ingest_quarantine", ["received_at_us"])


def downgrade() -> None:
    op.drop_index("ix_ingest_quarantine_received", table_name="ingest_quarantine")
    op.drop_index("ix_ingest_quarantine_customer", table_name="ingest_quarantine")
    op.drop_index("ix_ingest_log_unscrubbed", table_name="ingest_log")
    op.drop_index("ix_ingest_log_customer", table_name="ingest_log")
    with op.batch_alter_table("ingest_log") as batch:
        batch.drop_column("scrubbed")
        batch.drop_column("erased")
    op.drop_table("erased_accounts")
