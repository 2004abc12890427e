"""lean touch writes: statement-level report triggers on touches and messages, one index less

Firing updates touches and messages many rows at a time. 0003's row triggers ran a PL/pgSQL
insert per row, also for rows the report never reads (a touch not yet sent, a message going
from `sending` to `sent`). On PostgreSQL these UPDATE triggers become statement triggers
over the transition tables; on both databases they now fire only when the row counts for
the report before or after the update, the same condition as for inserts and deletes.
`ix_touches_chain` goes: `ix_touches_chain_sent` starts with the same column.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import importlib.util
from pathlib import Path
from typing import Any

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _revision_0003() -> Any:
    """0003's trigger definitions (a frozen file, loaded by path: its name is no module name)."""
    path = Path(__file__).with_name("0003_touch_outcomes.py")
    spec = importlib.util.spec_from_file_location("nudge_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _postgres(table: str, columns: tuple[str, ...], counts: str) -> list[str]:
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)
    matters = f"({counts.format(r='o')}) OR ({counts.format(r='n')})"
    return [
        f"""CREATE FUNCTION report_stale_{table}_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_stale_contacts (contact_id)
  SELECT DISTINCT x.contact_id
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  CROSS JOIN LATERAL (VALUES (n.contact_id), (o.contact_id)) AS x(contact_id)
  WHERE x.contact_id IS NOT NULL AND ({changed}) AND ({matters});
  RETURN NULL;
END $$""",
        f"""CREATE TRIGGER report_stale_{table}_upd AFTER UPDATE ON {table}
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION report_stale_{table}_upd()""",
    ]


def _sqlite(table: str, columns: tuple[str, ...], counts: str) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    matters = f"({counts.format(r='OLD')}) OR ({counts.format(r='NEW')})"
    return [
        f"""CREATE TRIGGER report_stale_{table}_upd AFTER UPDATE OF {", ".join(columns)}
ON {table} FOR EACH ROW WHEN ({changed}) AND ({matters}) BEGIN
  INSERT INTO report_stale_contacts (contact_id) SELECT NEW.contact_id
  WHERE NEW.contact_id IS NOT NULL;
  INSERT INTO report_stale_contacts (contact_id) SELECT OLD.contact_id
  WHERE OLD.contact_id IS NOT NULL AND OLD.contact_id IS NOT NEW.contact_id;
END""",
    ]


def _lean_tables() -> list[Any]:
    return [w for w in _revision_0003().WATCHED if w.table in ("touches", "messages")]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for watch in _lean_tables():
        op.execute(
            f"DROP TRIGGER IF EXISTS report_stale_{watch.table}_upd"
            + (f" ON {watch.table}" if postgres else "")
        )
        build = _postgres if postgres else _sqlite
        for statement in build(watch.table, (*watch.columns, "contact_id"), watch.inserted):
            op.execute(statement)
    op.drop_index("ix_touches_chain", table_name="touches")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    old = _revision_0003()
    op.create_index("ix_touches_chain", "touches", ["chain_id"])
    for watch in _lean_tables():
        op.execute(
            f"DROP TRIGGER IF EXISTS report_stale_{watch.table}_upd"
            + (f" ON {watch.table}" if postgres else "")
        )
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS report_stale_{watch.table}_upd()")
        # 0003's first statement for a table is its row-level UPDATE trigger
        op.execute((old._postgres if postgres else old._sqlite)(watch)[0])
