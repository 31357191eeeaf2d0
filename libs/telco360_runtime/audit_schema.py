"""The `audit_entries` schema every service's migrations create (telco360_runtime.audit).

One definition for the four stores, so their trails cannot drift apart. Version 1 is frozen
once released: a later change to the table gets a new function here and a new migration in
each service, never an edit of this one (existing databases were built by it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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


def create_audit_entries_v1(op: Any) -> None:
    """Create `audit_entries` with its indexes and append-only triggers (an Alembic `op`)."""
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


def drop_audit_entries_v1(op: Any) -> None:
    """Undo `create_audit_entries_v1`."""
    op.drop_table("audit_entries")  # drops its triggers and indexes with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
