"""contacts.whatsapp_missing_at: WhatsApp said the number has no account (R-SR7)

Set on an immediate "not on WhatsApp" answer and on a later `failed` status with such a
code, so the contact's next touches go straight to another consented channel.

Revision ID: 0005_rules
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rules"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(
            sa.Column("whatsapp_missing_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("whatsapp_missing_at")
