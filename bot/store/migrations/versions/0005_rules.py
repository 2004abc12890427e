"""contacts.whatsapp_missing_at (R-SR7) and chains.order_id (R-FL3)

whatsapp_missing_at is set on an immediate "not on WhatsApp" answer and on a later `failed`
status with such a code, so the contact's next touches go straight to another consented
channel. order_id is the shop's order of an order-status chain, for its texts and links.

Revision ID: 0005_rules
Revises: 0005_rel_touches
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_rules"
down_revision = "0005_rel_touches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chains") as batch:
        batch.add_column(sa.Column("order_id", sa.String(length=128), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(
            sa.Column("whatsapp_missing_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("whatsapp_missing_at")
    with op.batch_alter_table("chains") as batch:
        batch.drop_column("order_id")
