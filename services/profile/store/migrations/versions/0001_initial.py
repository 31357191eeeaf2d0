"""Initial profile schema: record versions, accounts, tags, events, scores, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:44:26.550428
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_events",
        sa.Column("sequence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tag_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("previous_risk_band", sa.SmallInteger(), nullable=False),
        sa.Column("risk_band", sa.SmallInteger(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("source_sequence", sa.BigInteger(), nullable=False),
        sa.Column("group_root", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_account_events")),
    )
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_events_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "account_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_facts")),
    )
    with op.batch_alter_table("account_facts", schema=None) as batch_op:
        batch_op.create_index("ix_facts_customer_kind", ["customer_id", "kind"], unique=False)
        batch_op.create_index("ix_facts_key", ["source", "source_record_id"], unique=False)

    op.create_table(
        "account_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_history")),
    )
    with op.batch_alter_table("account_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_history_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "account_tags",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("tag_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger_values", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "tag_id", name=op.f("pk_account_tags")),
    )
    with op.batch_alter_table("account_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_customer_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("master", sa.Text(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("revenue_12m", sa.Float(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("next_expiry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_next_expiry_at"), ["next_expiry_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_parent_customer_id"), ["parent_customer_id"], unique=False)

    op.create_table(
        "attribute_types",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_attribute_types")),
    )
    op.create_table(
        "billing_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("product_line", sa.SmallInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("usage_quantity", sa.Float(), nullable=False),
        sa.Column("usage_unit", sa.String(length=32), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("payment_status", sa.SmallInteger(), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_facts")),
    )
    with op.batch_alter_table("billing_facts", schema=None) as batch_op:
        batch_op.create_index("ix_billing_customer_month", ["customer_id", "month"], unique=False)
        batch_op.create_index("ix_billing_key", ["source", "source_record_id"], unique=False)

    op.create_table(
        "billing_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("first_visible_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_billing_months")),
    )
    op.create_table(
        "erasures",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("purge_facts", sa.Boolean(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_erasures")),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("result_ref", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_jobs")),
    )
    op.create_table(
        "record_keys",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("source", "source_record_id", name=op.f("pk_record_keys")),
    )
    op.create_table(
        "scores",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=False),
        sa.Column("risk_band", sa.SmallInteger(), nullable=False),
        sa.Column("predicted_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_horizon_months", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "scored_at", "model_version", name=op.f("pk_scores")),
    )
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applied_sequence", sa.BigInteger(), nullable=False),
        sa.Column("ingest_last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_counter", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "tag_definitions",
        sa.Column("tag_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "version", name=op.f("pk_tag_definitions")),
    )
    op.create_table(
        "tag_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("tag_id", sa.String(length=64), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.SmallInteger(), nullable=False),
        sa.Column("trigger_values", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_history")),
    )
    with op.batch_alter_table("tag_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tag_history_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tag_history_tag_id"), ["tag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tag_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_history_tag_id"))
        batch_op.drop_index(batch_op.f("ix_tag_history_customer_id"))

    op.drop_table("tag_history")
    op.drop_table("tag_definitions")
    op.drop_table("sync_state")
    op.drop_table("scores")
    op.drop_table("record_keys")
    op.drop_table("jobs")
    op.drop_table("erasures")
    op.drop_table("billing_months")
    with op.batch_alter_table("billing_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_key")
        batch_op.drop_index("ix_billing_customer_month")

    op.drop_table("billing_facts")
    op.drop_table("attribute_types")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_parent_customer_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_next_expiry_at"))
        batch_op.drop_index(batch_op.f("ix_accounts_change_seq"))

    op.drop_table("accounts")
    with op.batch_alter_table("account_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_tags_tag_id"))

    op.drop_table("account_tags")
    with op.batch_alter_table("account_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_history_customer_id"))

    op.drop_table("account_history")
    with op.batch_alter_table("account_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_facts_key")
        batch_op.drop_index("ix_facts_customer_kind")

    op.drop_table("account_facts")
    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_events_customer_id"))

    op.drop_table("account_events")
