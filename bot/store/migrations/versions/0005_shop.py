"""shop integrations: the retailCRM history cursor, stored with the events it produced;
checkouts found by order id (fulfilments and status changes name only the order)

Revision ID: 0005_shop
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_shop"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("since_id", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_checkouts_order", "checkouts", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_checkouts_order", table_name="checkouts")
    op.drop_table("integration_cursors")
