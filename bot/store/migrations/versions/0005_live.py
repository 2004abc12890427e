"""telegram link uses: the nonce of every Telegram opt-in token that bound a chat

Revision ID: 0005_live
Revises: 0005_results
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_live"
down_revision = "0005_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_link_uses",
        sa.Column("nonce", sa.String(length=16), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("nonce"),
    )


def downgrade() -> None:
    op.drop_table("telegram_link_uses")
