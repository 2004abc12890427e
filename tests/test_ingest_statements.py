"""The ingest upserts are compiled once per dialect, then taken from SQLAlchemy's cache."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.app_keys import ENGINE
from tests.factory import at, checkout_updated
from tests.touches_fixtures import Shop


async def test_upserts_are_compiled_once_and_reused(client: Any) -> None:
    shop = Shop(client)
    seen: list[tuple[str, str]] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        context = rest[1]
        table = statement.split("(", 1)[0].strip()
        if table in ("INSERT INTO events", "INSERT INTO contacts", "INSERT INTO checkouts"):
            seen.append((table, context._get_cache_stats().split()[0]))

    engine = client.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for batch in range(3):  # two events a request: executemany every time
            await shop.post(
                checkout_updated(f"a{batch}", when=at(), phone="+79160000001"),
                checkout_updated(f"b{batch}", when=at(), phone="+79160000002"),
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    tables = {"INSERT INTO events", "INSERT INTO contacts", "INSERT INTO checkouts"}
    assert {table for table, _ in seen} == tables
    assert [stats for _, stats in seen[-6:]] == ["cached"] * 6
