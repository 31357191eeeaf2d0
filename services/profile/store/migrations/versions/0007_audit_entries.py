"""Audit trail: append-only `audit_entries` (telco360_runtime.audit), UPDATE/DELETE refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# PostgreSQL: a trigger function refusing every change of a stored entry (and TRUNCATE).
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)
# SQLite: the same refusal (RAISE(ABORT) rolls the statement back).
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("account_ids", sa.Text(), nullable=False),
        sa.Column("account_count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_subject", "audit_entries", ["subject", "id"])
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_entries")  # drops its triggers and indexes with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
