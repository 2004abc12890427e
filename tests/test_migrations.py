"""The migrations and the models agree, and the report triggers survive every migration."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bot.store.db import make_engine
from bot.store.models import Base

# Written by migrations 0003/0004; a later migration that rebuilds one of these tables (SQLite
# batch mode) would drop its triggers silently and the report would stop following writes.
REPORT_TRIGGERS = {
    ("report_stale_chains_upd", "chains"),
    ("report_stale_checkouts_upd", "checkouts"),
    ("report_stale_conversations_del", "conversations"),
    ("report_stale_conversations_ins", "conversations"),
    ("report_stale_conversations_upd", "conversations"),
    ("report_stale_messages_del", "messages"),
    ("report_stale_messages_ins", "messages"),
    ("report_stale_messages_upd", "messages"),
    ("report_stale_touches_del", "touches"),
    ("report_stale_touches_ins", "touches"),
    ("report_stale_touches_upd", "touches"),
}


def _differences(connection: Any) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_models_match_the_migrated_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_report_triggers_exist_after_every_migration(db_url: str) -> None:
    engine = make_engine(db_url)
    postgres = db_url.startswith("postgresql")
    query = (
        "SELECT tgname, relname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid"
        " WHERE tgname LIKE 'report_stale_%'"
        if postgres
        else "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
        " AND name LIKE 'report_stale_%'"
    )
    try:
        async with engine.connect() as connection:
            found = {(str(a), str(b)) for a, b in (await connection.execute(text(query))).all()}
    finally:
        await engine.dispose()
    assert found == REPORT_TRIGGERS
