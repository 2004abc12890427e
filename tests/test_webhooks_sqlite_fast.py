"""The SQLite acknowledgement write: on the loop when the write lock is free, else on its thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.channels.whatsapp import parse_webhook
from bot.store.inbound_sqlite import SqliteFastPath
from bot.store.inbound_writer import _rows
from bot.store.migrate import upgrade_to_head
from tests.channels_fixtures import wa_text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[SqliteFastPath]:
    path = tmp_path / "inbox.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    writer = SqliteFastPath(str(path), checkpoint_every=2)
    yield writer
    writer.close()


def _rows_for(*wamids: str) -> list[dict[str, Any]]:
    return [r for w in wamids for r in _rows("whatsapp", parse_webhook(wa_text(w), NOW), NOW)]


def _stored(path: str) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT channel, dedupe_key FROM inbound_webhooks ORDER BY id")
        return [(str(c), str(k)) for c, k in rows]


def _lock_attempt(fast: SqliteFastPath) -> threading.Event:
    """Set once the writer thread begins its BEGIN IMMEDIATE: from then on it is in SQLite's
    busy wait, so while another connection holds the lock it cannot finish."""
    begun = threading.Event()

    def trace(statement: str) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.set()

    fast._connect().set_trace_callback(trace)  # the thread's connection, opened here
    return begun


async def _happened(flag: threading.Event, what: str) -> None:
    assert await asyncio.to_thread(flag.wait, 10), f"never happened: {what}"


async def test_written_inline_and_deduplicated_by_the_constraint(fast: SqliteFastPath) -> None:
    first = fast.insert_now(_rows_for("wamid.A", "wamid.B"))
    assert first is not None and set(first) == {("whatsapp", "wamid.A"), ("whatsapp", "wamid.B")}
    again = fast.insert_now(_rows_for("wamid.B", "wamid.C"))
    assert again is not None and set(again) == {("whatsapp", "wamid.C")}
    assert [k for _, k in _stored(fast.path)] == ["wamid.A", "wamid.B", "wamid.C"]


async def test_locked_database_goes_to_the_thread_and_waits(fast: SqliteFastPath) -> None:
    other = sqlite3.connect(fast.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
    try:
        assert fast.insert_now(_rows_for("wamid.L")) is None  # nothing written, no waiting
        assert _stored(fast.path) == []
        begun = _lock_attempt(fast)
        pending = asyncio.create_task(fast.insert(_rows_for("wamid.L")))
        await _happened(begun, "the writer thread asked for SQLite's write lock")
        assert not pending.done()  # the thread waits for the lock instead of failing
    finally:
        other.execute("COMMIT")
        other.close()
    assert set(await pending) == {("whatsapp", "wamid.L")}
    assert _stored(fast.path) == [("whatsapp", "wamid.L")]


def _processed(path: str) -> dict[str, str | None]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT dedupe_key, processed_at FROM inbound_webhooks")
        return {str(k): p for k, p in rows}


async def test_marks_only_rows_not_yet_processed(fast: SqliteFastPath) -> None:
    ids = fast.insert_now(_rows_for("wamid.M1", "wamid.M2", "wamid.M3"))
    assert ids is not None
    first = ids[("whatsapp", "wamid.M1")]
    assert fast.mark_now([first], NOW)
    later = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    await fast.mark(list(ids.values()), later)  # M1 keeps its first mark
    assert _processed(fast.path) == {
        "wamid.M1": "2026-03-02 09:00:00.000000",
        "wamid.M2": "2026-03-02 10:00:00.000000",
        "wamid.M3": "2026-03-02 10:00:00.000000",
    }


async def test_marks_wait_on_the_thread_while_another_connection_writes(
    fast: SqliteFastPath,
) -> None:
    ids = fast.insert_now(_rows_for("wamid.W"))
    assert ids is not None
    other = sqlite3.connect(fast.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        assert not fast.mark_now(list(ids.values()), NOW)  # nothing written, no waiting
        begun = _lock_attempt(fast)
        pending = asyncio.create_task(fast.mark(list(ids.values()), NOW))
        await _happened(begun, "the writer thread asked for SQLite's write lock")
        assert not pending.done()
    finally:
        other.execute("COMMIT")
        other.close()
    await pending
    assert _processed(fast.path) == {"wamid.W": "2026-03-02 09:00:00.000000"}
