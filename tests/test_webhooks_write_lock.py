"""Acknowledgements and processed marks on SQLite: not queued behind this process's other
writers while SQLite's own write lock is free, queued when it is taken."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.whatsapp import parse_webhook
from bot.store.db import make_engine
from bot.store.inbound_writer import InboundWriter
from bot.store.migrate import upgrade_to_head
from bot.store.write_lock import write_lock
from tests.channels_fixtures import wa_text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    upgrade_to_head(url)  # runs its own event loop: not inside the test's
    return url


@pytest.fixture
async def writer(url: str) -> AsyncIterator[InboundWriter]:
    engine: AsyncEngine = make_engine(url)
    group = InboundWriter(engine)
    yield group
    group.close()
    await engine.dispose()


def _processed(writer: InboundWriter) -> list[str | None]:
    assert writer.fast is not None
    with sqlite3.connect(writer.fast.path) as connection:
        return [p for (p,) in connection.execute("SELECT processed_at FROM inbound_webhooks")]


async def test_ack_and_mark_pass_a_writer_between_its_statements(writer: InboundWriter) -> None:
    # Another writer of this process holds the in-process lock across event-loop turns but
    # has not written yet: SQLite's lock is free, so neither waits for it.
    async with write_lock(writer.engine):
        stored = await asyncio.wait_for(
            writer.store("whatsapp", parse_webhook(wa_text("wamid.P"), NOW), NOW), 1
        )
        assert [p.dedupe_key for _, p in stored] == ["wamid.P"]
        assert await asyncio.wait_for(writer.mark_processed([stored[0][0]], NOW), 1)
    assert _processed(writer) == ["2026-03-02 09:00:00.000000"]


async def test_ack_queues_while_another_connection_holds_sqlite_lock(
    writer: InboundWriter,
) -> None:
    fast = writer.fast
    assert fast is not None
    tried = asyncio.Event()
    inline_results: list[dict[tuple[str, str], int] | None] = []
    insert_now = fast.insert_now

    def recorded_insert_now(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int] | None:
        inline_results.append(result := insert_now(rows))
        tried.set()
        return result

    fast.insert_now = recorded_insert_now  # type: ignore[method-assign]
    other = sqlite3.connect(fast.path, isolation_level=None)
    async with write_lock(writer.engine):
        other.execute("BEGIN IMMEDIATE")  # the other writer is between its write and commit
        ack = asyncio.create_task(
            writer.store("whatsapp", parse_webhook(wa_text("wamid.Q"), NOW), NOW)
        )
        await asyncio.wait_for(tried.wait(), 5)  # the writer tried its inline write
        assert inline_results == [None]  # SQLite's lock was taken: nothing was written
        assert not ack.done()  # durable before 200: nothing is acknowledged unwritten
        other.execute("COMMIT")
        other.close()
    stored = await asyncio.wait_for(ack, 5)
    assert [p.dedupe_key for _, p in stored] == ["wamid.Q"]
    assert _processed(writer) == [None]


async def _two_acks_a_loop_turn_apart(writer: InboundWriter) -> None:
    first = asyncio.create_task(
        writer.store("whatsapp", parse_webhook(wa_text("wamid.G1"), NOW), NOW)
    )
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second = asyncio.create_task(
        writer.store("whatsapp", parse_webhook(wa_text("wamid.G2"), NOW), NOW)
    )
    assert len(await first) == 1 and len(await second) == 1


async def test_under_a_stream_one_commit_carries_several_acks(writer: InboundWriter) -> None:
    assert writer.fast is not None
    loop = asyncio.get_running_loop()
    for _ in range(30):  # 30 acknowledgements within this 100 ms: a stream
        writer._count(loop.time())
    await _two_acks_a_loop_turn_apart(writer)
    assert writer.fast.inline_commits == 1


async def test_a_lone_ack_is_not_held_back(writer: InboundWriter) -> None:
    assert writer.fast is not None
    await _two_acks_a_loop_turn_apart(writer)
    assert writer.fast.inline_commits == 2
