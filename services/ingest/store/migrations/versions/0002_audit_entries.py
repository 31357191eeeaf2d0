"""Audit trail: append-only `audit_entries` (telco360_runtime.audit), UPDATE/DELETE refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 11:30:00
"""

from alembic import op

from telco360_runtime.audit_schema import create_audit_entries_v1, drop_audit_entries_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_entries_v1(op)


def downgrade() -> None:
    drop_audit_entries_v1(op)
