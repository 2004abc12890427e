"""fine intents: planned checks after "already paid", and the order's tracking link

`paid_checks`: a shopper said they paid; at `due_at` the check hands the chat to an operator
unless the checkout was paid meanwhile (R-RP4). `checkouts.tracking_url`: the link an
`order.status_changed` event carried, for "where is my order".

Revision ID: 0005_nlu_no
Revises: 0005_live
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_nlu_no"
down_revision = "0005_live"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paid_checks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("checkout_id", _ID, nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["checkout_id"], ["checkouts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_paid_checks_due", "paid_checks", ["status", "due_at"])
    with op.batch_alter_table("checkouts") as batch_op:
        batch_op.add_column(sa.Column("tracking_url", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkouts") as batch_op:
        batch_op.drop_column("tracking_url")
    op.drop_index("ix_paid_checks_due", table_name="paid_checks")
    op.drop_table("paid_checks")
