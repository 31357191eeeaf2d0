"""Erasure across the suite: `erasure_requests` and per-service `erasure_progress`.

Erasures recorded before this revision (profile's `erasures` tombstones) become requests
with profile's part done; the dispatcher adds the other services' parts and applies them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_DONE = 2


def upgrade() -> None:
    requests = op.create_table(
        "erasure_requests",
        sa.Column("erasure_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("purge_facts", sa.Boolean(), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("reactivated_at", _TS, nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("erasure_id", name="pk_erasure_requests"),
    )
    op.create_index("ix_erasure_requests_customer_id", "erasure_requests", ["customer_id"])
    progress = op.create_table(
        "erasure_progress",
        sa.Column("erasure_id", sa.String(64), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("lifted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("erasure_id", "service", name="pk_erasure_progress"),
    )
    op.create_index("ix_erasure_progress_state", "erasure_progress", ["state"])
    bind = op.get_bind()
    old = bind.execute(sa.text("SELECT customer_id, erased_at, purge_facts, removed FROM erasures")).all()
    for cid, erased_at, purge, removed in old:
        when = erased_at if isinstance(erased_at, dt.datetime) else dt.datetime.fromisoformat(str(erased_at))
        eid = f"er-{when:%Y%m%d%H%M%S%f}-{cid}"[:64]
        op.bulk_insert(
            requests,
            [
                {
                    "erasure_id": eid,
                    "customer_id": cid,
                    "trigger": "request",
                    "purge_facts": bool(purge),
                    "requested_at": when,
                    "superseded": False,
                    "reactivated_at": None,
                    "lift_reason": "",
                }
            ],
        )
        op.bulk_insert(
            progress,
            [
                {
                    "erasure_id": eid,
                    "service": "profile",
                    "state": _DONE,
                    "removed": removed or "{}",
                    "attempts": 1,
                    "last_error": "",
                    "last_attempt_at": when,
                    "done_at": when,
                    "lifted_at": None,
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("erasure_progress")
    op.drop_table("erasure_requests")
