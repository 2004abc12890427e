"""instances: each service instance's heartbeat, so peers take over a silent one's claims;
ix_messages_sending: the sends in flight, which the sweeper reads every few seconds

Revision ID: 0005_rel_touches
Revises: 0005_rel_inbox
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rel_touches"
down_revision = "0005_rel_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # a plain CREATE INDEX: a batch (table copy) on SQLite would drop the report triggers
    op.create_index(
        "ix_messages_sending",
        "messages",
        ["created_at"],
        postgresql_where=sa.text("status = 'sending'"),
        sqlite_where=sa.text("status = 'sending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_sending", table_name="messages")
    op.drop_table("instances")
