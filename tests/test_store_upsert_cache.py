"""The one SQLAlchemy internals hook (bot/store/upsert_cache.py) still does its job: an
INSERT … ON CONFLICT built there is compiled once, then served from the statement cache, on
SQLite and PostgreSQL. A failure here after a SQLAlchemy upgrade means the hook needs a look."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import make_engine
from bot.store.models import ApiKey
from bot.store.upsert_cache import cached_insert

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


def _build(insert: Any) -> Any:
    return insert(ApiKey.__table__).on_conflict_do_nothing(index_elements=["key_hash"])


def test_the_dialects_upsert_still_has_no_cache_key_of_its_own() -> None:
    for module in (postgresql, sqlite):
        statement = _build(module.insert)
        assert statement._generate_cache_key() is None, "SQLAlchemy caches it now: drop the hook"


async def test_a_named_upsert_is_compiled_once_then_cached(engine: AsyncEngine) -> None:
    statement = cached_insert(engine, "api-keys-test", _build)
    assert cached_insert(engine, "api-keys-test", _build) is statement
    assert statement._generate_cache_key() is not None
    stats: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        if sql.startswith("INSERT INTO api_keys"):
            stats.append(rest[1]._get_cache_stats().split()[0])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        for n in range(3):
            rows = [{"name": f"k{n}", "key_hash": f"{n:064d}", "created_at": T0}]
            async with engine.begin() as connection:
                await connection.execute(statement, rows)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert stats[1:] == ["cached", "cached"]
