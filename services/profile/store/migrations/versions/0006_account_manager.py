"""Account-team scoping: each account's manager (from its merged master data) as an indexed column.

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_manager_id", sa.String(64), nullable=False, server_default=""))
        batch_op.create_index("ix_accounts_account_manager_id", ["account_manager_id"], unique=False)
    # Existing accounts: the manager their stored master data names (JSON read in Python: both dialects).
    accounts = sa.table(
        "accounts", sa.column("customer_id", sa.String), sa.column("master", sa.Text), sa.column("account_manager_id")
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(accounts.c.customer_id, accounts.c.master)).all()
    updates = []
    for customer_id, master in rows:
        try:
            manager = str((json.loads(master or "{}").get("fields") or {}).get("account_manager_id") or "")
        except (ValueError, AttributeError):
            manager = ""
        if manager:
            updates.append({"cid": customer_id, "manager": manager[:64]})
    if updates:
        bind.execute(
            accounts.update()
            .where(accounts.c.customer_id == sa.bindparam("cid"))
            .values(account_manager_id=sa.bindparam("manager")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_account_manager_id")
        batch_op.drop_column("account_manager_id")
