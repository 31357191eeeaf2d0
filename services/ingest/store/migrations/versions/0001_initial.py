"""Initial ingest schema: sequence counter, records, log, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    head = op.create_table(
        "ingest_log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_sequence": 0}])
    op.create_table(
        "ingest_records",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("source_record_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_ingest_records_customer_id", "ingest_records", ["customer_id"])
    op.create_table(
        "ingest_log",
        sa.Column("sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at_us", sa.BigInteger(), nullable=False),
        sa.Column("ingested_at_us", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "ingest_quarantine",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("source_record_id", sa.String(256), nullable=False),
        sa.Column("customer_id", sa.String(256), nullable=False),
        sa.Column("raw_hash", sa.String(64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("violations", sa.Text(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_sequence", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_ingest_quarantine_key", "ingest_quarantine", ["source", "source_record_id"])
    op.create_index("ix_ingest_quarantine_open", "ingest_quarantine", ["resolved", "received_at_us"])
    op.create_index("ix_ingest_quarantine_raw_hash", "ingest_quarantine", ["raw_hash"])
    op.create_table(
        "ingest_quarantine_violations",
        sa.Column("quarantine_id", _ID, sa.ForeignKey("ingest_quarantine.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("field", sa.String(256), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )
    op.create_index("ix_ingest_quarantine_violations_field", "ingest_quarantine_violations", ["field"])
    op.create_index("ix_ingest_quarantine_violations_reason", "ingest_quarantine_violations", ["reason"])


def downgrade() -> None:
    op.drop_table("ingest_quarantine_violations")
    op.drop_table("ingest_quarantine")
    op.drop_table("ingest_log")
    op.drop_table("ingest_records")
    op.drop_table("ingest_log_head")
