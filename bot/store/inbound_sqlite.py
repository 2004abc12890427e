"""The acknowledgement's write on SQLite in ONE thread hop: begin, insert, commit together.

Through SQLAlchemy + aiosqlite a transaction is several hops between the event loop and the
driver thread (checkout, begin, execute, fetch, commit, reset), and on a busy machine each hop
costs milliseconds; SQLite itself commits in ~0.2 ms. The SQL is the same unique-constraint
INSERT … ON CONFLICT DO NOTHING; PostgreSQL keeps the SQLAlchemy path (asyncpg has no hops).

Even that one hop costs about as much CPU as the insert itself, so the batch is first written
right on the event loop's thread when SQLite's write lock is free at once (no busy wait, no
checkpoint there); only when another connection holds it does the batch go to the thread,
which waits for the lock there and also runs the checkpoints.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bot.store.db import sqlite_pragmas

_INSERT = (
    "INSERT INTO inbound_webhooks"
    " (channel, dedupe_key, payload, received_at, claimed_by, next_attempt_at, attempts) "
    "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (channel, dedupe_key) DO NOTHING RETURNING id"
)


_MARK = "UPDATE inbound_webhooks SET processed_at = ? WHERE processed_at IS NULL AND id IN ({})"


def _stamp(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds always).
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteFastPath:
    """Dedicated connections: one used on the caller's thread that never waits, one on a
    dedicated thread that does; callers serialize through write_lock."""

    def __init__(self, path: str, checkpoint_every: int = 500) -> None:
        self.path = path
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")
        self.connection: sqlite3.Connection | None = None
        self.inline: sqlite3.Connection | None = None
        self.checkpoint_every = checkpoint_every
        self.inline_commits = 0

    def _open(self, busy_ms: int, autocheckpoint: int) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000
        )
        for pragma in sqlite_pragmas(busy_ms):
            connection.execute(pragma)
        connection.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self.connection is None:
            self.connection = self._open(busy_ms=10_000, autocheckpoint=1000)
        return self.connection

    @staticmethod
    def _write(
        connection: sqlite3.Connection, rows: Sequence[dict[str, Any]]
    ) -> dict[tuple[str, str], int]:
        """The inserts and the COMMIT of a transaction the caller began."""
        new: dict[tuple[str, str], int] = {}
        try:
            for row in rows:
                params = (
                    row["channel"],
                    row["dedupe_key"],
                    json.dumps(row["payload"], ensure_ascii=False),
                    _stamp(row["received_at"]),
                    row.get("claimed_by"),
                    _stamp(lease) if (lease := row.get("next_attempt_at")) else None,
                )
                found = connection.execute(_INSERT, params).fetchone()
                if found is not None:
                    new[(row["channel"], row["dedupe_key"])] = int(found[0])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return new

    @staticmethod
    def _mark(connection: sqlite3.Connection, ids: Sequence[int], stamp: str) -> None:
        """The UPDATEs and the COMMIT of a transaction the caller began."""
        try:
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                connection.execute(_MARK.format(",".join("?" * len(chunk))), (stamp, *chunk))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _insert(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        return self._write(connection, rows)

    def _mark_waiting(self, ids: Sequence[int], stamp: str) -> None:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        self._mark(connection, ids, stamp)

    def _begin_now(self) -> sqlite3.Connection | None:
        """The inline connection inside BEGIN IMMEDIATE, or None when another connection holds
        SQLite's write lock. Once it holds the lock in WAL mode, neither the statements nor
        the COMMIT wait, and this connection never checkpoints."""
        if self.inline is None:
            self.inline = self._open(busy_ms=0, autocheckpoint=0)
        try:
            self.inline.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        return self.inline

    def _committed(self) -> None:
        self.inline_commits += 1
        if self.inline_commits % self.checkpoint_every == 0:  # the WAL is folded in off-loop
            self.thread.submit(self._checkpoint)

    def insert_now(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int] | None:
        """The batch written on this thread, or None when another connection holds SQLite's
        write lock (nothing written then)."""
        connection = self._begin_now()
        if connection is None:
            return None
        new = self._write(connection, rows)
        self._committed()
        return new

    def mark_now(self, ids: Sequence[int], at: datetime) -> bool:
        """processed_at = `at` on those of `ids` still unmarked, written on this thread; False
        when another connection holds SQLite's write lock (nothing written then). Through
        SQLAlchemy + aiosqlite the same UPDATE spans several event-loop turns."""
        connection = self._begin_now()
        if connection is None:
            return False
        self._mark(connection, ids, _stamp(at))
        self._committed()
        return True

    async def mark(self, ids: Sequence[int], at: datetime) -> None:
        """As mark_now, but waits for SQLite's write lock on the writer thread when needed."""
        if not self.mark_now(ids, at):
            await asyncio.get_running_loop().run_in_executor(
                self.thread, self._mark_waiting, ids, _stamp(at)
            )

    def _checkpoint(self) -> None:
        self._connect().execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def insert(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        new = self.insert_now(rows)
        if new is not None:
            return new
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._insert, rows)

    def close(self) -> None:
        def shut() -> None:
            if self.connection is not None:
                self.connection.close()

        if self.inline is not None:
            self.inline.close()
        self.thread.submit(shut).result(timeout=10)
        self.thread.shutdown(wait=True)
