"""touch outcomes: per-touch outcome columns, the stale-contacts list and its triggers

The report reads what followed each touch from columns on `touches` (bot/reports/outcomes.py
computes them). Triggers list the contact of every source row write that can change them in
`report_stale_contacts`, whatever code made the write; every contact with a sent touch is
listed here, so the first refresh after this migration is the backfill, by the same code.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


@dataclass(frozen=True)
class Watch:
    """Which writes to a table can change a contact's touch outcomes."""

    table: str
    columns: tuple[str, ...]  # an UPDATE changing one of these (contact_id always included)
    # an INSERTed or DELETEd row matching this condition ({r} is the row); None: never
    inserted: str | None


# Chains and checkouts exist before the touches that refer to them (whose insert lists the
# contact), and their deletes cascade to those touches; only their updates matter.
WATCHED = (
    Watch("touches", ("sent_at", "message_id", "chain_id", "flow"), "{r}.sent_at IS NOT NULL"),
    Watch(
        "messages",
        ("status", "intent", "created_at", "direction"),
        "{r}.direction = 'in' OR {r}.status IN ('delivered', 'read')",
    ),
    Watch("chains", ("stop_reason", "stopped_at", "checkout_id"), None),
    # a chain's contact is its checkout's; the amount of a payment is kept with its touch
    Watch("checkouts", ("status", "paid_at", "total", "currency"), None),
    Watch(
        "conversations",
        ("escalated_at", "first_operator_reply_at"),
        "{r}.escalated_at IS NOT NULL",
    ),
)

REPORT_INDEXES = (
    (
        "ix_touches_paid",
        "paid_after_s",
        ("flow", "step", "variant", "paid_after_s", "paid_cents", "paid_currency"),
    ),
    (
        "ix_touches_handoff",
        "handoff_after_s",
        ("flow", "step", "variant", "handoff_after_s", "handoff_answer_s"),
    ),
)

_PG_ROW_FUNCTION = """
CREATE FUNCTION report_stale_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.contact_id IS NOT NULL
     AND (TG_OP = 'DELETE' OR OLD.contact_id IS DISTINCT FROM NEW.contact_id) THEN
    INSERT INTO report_stale_contacts (contact_id) VALUES (OLD.contact_id);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.contact_id IS NOT NULL THEN
    INSERT INTO report_stale_contacts (contact_id) VALUES (NEW.contact_id);
  END IF;
  RETURN NULL;
END $$"""


def _columns(w: Watch) -> tuple[str, ...]:
    return (*w.columns, "contact_id")


def _postgres(w: Watch) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _columns(w))
    statements = [
        f"""CREATE TRIGGER report_stale_{w.table}_upd AFTER UPDATE OF {", ".join(_columns(w))}
ON {w.table} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION report_stale_row()"""
    ]
    if w.inserted is not None:
        # inserts come in bulk (seeding, batched sends): one INSERT … SELECT per statement
        statements += [
            f"""CREATE FUNCTION report_stale_{w.table}_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_stale_contacts (contact_id)
  SELECT DISTINCT contact_id FROM inserted
  WHERE contact_id IS NOT NULL AND ({w.inserted.format(r="inserted")});
  RETURN NULL;
END $$""",
            f"""CREATE TRIGGER report_stale_{w.table}_ins AFTER INSERT ON {w.table}
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
EXECUTE FUNCTION report_stale_{w.table}_ins()""",
            f"""CREATE TRIGGER report_stale_{w.table}_del AFTER DELETE ON {w.table}
FOR EACH ROW WHEN ({w.inserted.format(r="OLD")}) EXECUTE FUNCTION report_stale_row()""",
        ]
    return statements


def _sqlite(w: Watch) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _columns(w))
    mark_new = "INSERT INTO report_stale_contacts (contact_id) SELECT NEW.contact_id"
    mark_old = "INSERT INTO report_stale_contacts (contact_id) SELECT OLD.contact_id"
    statements = [
        f"""CREATE TRIGGER report_stale_{w.table}_upd AFTER UPDATE OF {", ".join(_columns(w))}
ON {w.table} FOR EACH ROW WHEN {changed} BEGIN
  {mark_new} WHERE NEW.contact_id IS NOT NULL;
  {mark_old} WHERE OLD.contact_id IS NOT NULL AND OLD.contact_id IS NOT NEW.contact_id;
END"""
    ]
    if w.inserted is not None:
        statements += [
            f"""CREATE TRIGGER report_stale_{w.table}_ins AFTER INSERT ON {w.table}
FOR EACH ROW WHEN NEW.contact_id IS NOT NULL AND ({w.inserted.format(r="NEW")}) BEGIN
  {mark_new};
END""",
            f"""CREATE TRIGGER report_stale_{w.table}_del AFTER DELETE ON {w.table}
FOR EACH ROW WHEN OLD.contact_id IS NOT NULL AND ({w.inserted.format(r="OLD")}) BEGIN
  {mark_old};
END""",
        ]
    return statements


def upgrade() -> None:
    op.create_table(
        "report_stale_contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    false = sa.text("false") if op.get_bind().dialect.name == "postgresql" else sa.text("0")
    op.add_column("touches", sa.Column("delivered", sa.Boolean(), server_default=false))
    op.add_column("touches", sa.Column("was_read", sa.Boolean(), server_default=false))
    for name in (
        "paid_after_s",
        "replied_after_s",
        "opted_out_after_s",
        "handoff_after_s",
        "handoff_answer_s",
    ):
        op.add_column("touches", sa.Column(name, sa.Float(), nullable=True))
    op.add_column("touches", sa.Column("paid_cents", sa.BigInteger(), nullable=True))
    op.add_column("touches", sa.Column("paid_currency", sa.String(length=3), nullable=True))
    op.add_column(
        "touches", sa.Column("chain_prev_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    # the few recovered / handed-off touches of a period, read from the index alone
    for name, column, include in REPORT_INDEXES:
        op.create_index(
            name,
            "touches",
            ["sent_at"],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_include=list(include),
        )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_ROW_FUNCTION)
    for watch in WATCHED:
        for statement in _postgres(watch) if postgres else _sqlite(watch):
            op.execute(statement)
    op.execute(
        "INSERT INTO report_stale_contacts (contact_id) "
        "SELECT DISTINCT contact_id FROM touches WHERE sent_at IS NOT NULL"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for watch in WATCHED:
        for kind in ("upd", "ins", "del"):
            if kind != "upd" and watch.inserted is None:
                continue
            name = f"report_stale_{watch.table}_{kind}"
            op.execute(
                f"DROP TRIGGER IF EXISTS {name}" + (f" ON {watch.table}" if postgres else "")
            )
            if postgres and kind == "ins":
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS report_stale_row()")
    op.drop_index("ix_touches_handoff", table_name="touches")
    op.drop_index("ix_touches_paid", table_name="touches")
    for name in (
        "chain_prev_sent_at",
        "paid_currency",
        "paid_cents",
        "handoff_answer_s",
        "handoff_after_s",
        "opted_out_after_s",
        "replied_after_s",
        "paid_after_s",
        "was_read",
        "delivered",
    ):
        op.drop_column("touches", name)
    op.drop_table("report_stale_contacts")
