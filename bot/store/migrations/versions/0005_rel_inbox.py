"""inbound retries: attempts, a claim lease and dead letters on inbound_webhooks

A webhook is marked processed only after its processing succeeded. Until then an instance
holds it by `claimed_by` until `next_attempt_at` (the lease); a failure counts an attempt and
sets `next_attempt_at` after a backoff; after the last attempt `dead_at` makes it a dead letter.

Revision ID: 0005_rel_inbox
Revises: 0005_nlu_no
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rel_inbox"
down_revision = "0005_nlu_no"
branch_labels = None
depends_on = None

_OPEN = "processed_at IS NULL AND dead_at IS NULL"


def upgrade() -> None:
    op.add_column(
        "inbound_webhooks",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "inbound_webhooks", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("inbound_webhooks", sa.Column("claimed_by", sa.String(64), nullable=True))
    op.add_column(
        "inbound_webhooks", sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True)
    )
    # the few rows still to do and the dead letters, read without scanning the processed ones
    op.create_index(
        "ix_inbound_webhooks_open",
        "inbound_webhooks",
        ["next_attempt_at"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_inbound_webhooks_dead",
        "inbound_webhooks",
        ["dead_at"],
        postgresql_where=sa.text("dead_at IS NOT NULL"),
        sqlite_where=sa.text("dead_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_webhooks_dead", table_name="inbound_webhooks")
    op.drop_index("ix_inbound_webhooks_open", table_name="inbound_webhooks")
    with op.batch_alter_table("inbound_webhooks") as batch:
        for column in ("dead_at", "claimed_by", "next_attempt_at", "attempts"):
            batch.drop_column(column)
