"""holdout chains (a flag, and chains found by start time for the lift report); declines kept
per touch beside opt-outs (the complaint rate)

Revision ID: 0005_results
Revises: 0005_shop
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_results"
down_revision = "0005_shop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the table and drop its triggers.
    op.add_column(
        "chains", sa.Column("holdout", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_chains_started_at", "chains", ["started_at"])
    op.add_column("touches", sa.Column("negative_after_s", sa.Float(), nullable=True))
    op.add_column("touches", sa.Column("country", sa.String(2), nullable=True))
    op.create_table(
        "ratings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "contact_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("contacts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("episode", sa.String(64), nullable=False),
        sa.Column("by", sa.String(16), nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("conversation_id", "episode"),
    )
    op.create_index("ix_ratings_answered_at", "ratings", ["answered_at"])
    op.create_index("ix_ratings_contact", "ratings", ["contact_id", "asked_at"])


def downgrade() -> None:
    op.drop_table("ratings")
    with op.batch_alter_table("touches") as batch:
        batch.drop_column("negative_after_s")
        batch.drop_column("country")
    op.drop_index("ix_chains_started_at", table_name="chains")
    with op.batch_alter_table("chains") as batch:
        batch.drop_column("holdout")
