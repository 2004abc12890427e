"""report indexes: each outcome finds the touch it is credited to through an index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_touches_chain_sent", "touches", ["chain_id", "sent_at"])
    op.create_index("ix_touches_contact_sent", "touches", ["contact_id", "sent_at"])
    op.create_index("ix_touches_sent", "touches", ["sent_at"])
    op.create_index(
        "ix_messages_inbound_at",
        "messages",
        ["created_at"],
        postgresql_where=sa.text("direction = 'in'"),
        sqlite_where=sa.text("direction = 'in'"),
    )
    op.create_index(
        "ix_checkouts_paid_at",
        "checkouts",
        ["paid_at"],
        postgresql_where=sa.text("status = 'paid'"),
        sqlite_where=sa.text("status = 'paid'"),
    )
    op.create_index("ix_conversations_escalated_at", "conversations", ["escalated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_escalated_at", table_name="conversations")
    op.drop_index("ix_checkouts_paid_at", table_name="checkouts")
    op.drop_index("ix_messages_inbound_at", table_name="messages")
    op.drop_index("ix_touches_sent", table_name="touches")
    op.drop_index("ix_touches_contact_sent", table_name="touches")
    op.drop_index("ix_touches_chain_sent", table_name="touches")
