"""holdout chains (a flag, and chains found by start time for the lift report); declines kept
per touch beside opt-outs (the complaint rate)

Revision ID: 0005_results
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_results"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the table and drop its triggers.
    op.add_column(
        "chains", sa.Column("holdout", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_chains_started_at", "chains", ["started_at"])
    op.add_column("touches", sa.Column("negative_after_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("touches") as batch:
        batch.drop_column("negative_after_s")
    op.drop_index("ix_chains_started_at", table_name="chains")
    with op.batch_alter_table("chains") as batch:
        batch.drop_column("holdout")
