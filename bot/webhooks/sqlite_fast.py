"""The acknowledgement's write on SQLite in ONE thread hop: begin, insert, commit together.

Through SQLAlchemy + aiosqlite a transaction is several hops between the event loop and the
driver thread (checkout, begin, execute, fetch, commit, reset), and on a busy machine each hop
costs milliseconds; SQLite itself commits in ~0.2 ms. The SQL is the same unique-constraint
INSERT … ON CONFLICT DO NOTHING; PostgreSQL keeps the SQLAlchemy path (asyncpg has no hops).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

_INSERT = (
    "INSERT INTO inbound_webhooks (channel, dedupe_key, payload, received_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (channel, dedupe_key) DO NOTHING RETURNING id"
)


def _stamp(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds always).
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteFastPath:
    """A dedicated connection on a dedicated thread; callers serialize through write_lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")
        self.connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self.connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=10000")
            self.connection = connection
        return self.connection

    def _insert(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        connection = self._connect()
        new: dict[tuple[str, str], int] = {}
        connection.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                params = (
                    row["channel"],
                    row["dedupe_key"],
                    json.dumps(row["payload"], ensure_ascii=False),
                    _stamp(row["received_at"]),
                )
                found = connection.execute(_INSERT, params).fetchone()
                if found is not None:
                    new[(row["channel"], row["dedupe_key"])] = int(found[0])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return new

    async def insert(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._insert, rows)

    def close(self) -> None:
        def shut() -> None:
            if self.connection is not None:
                self.connection.close()

        self.thread.submit(shut).result(timeout=10)
        self.thread.shutdown(wait=True)
