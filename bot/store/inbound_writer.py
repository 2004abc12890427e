"""The acknowledgement's one write: INSERT … ON CONFLICT DO NOTHING, grouped across requests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Insert, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.parsing import Parsed, to_json
from bot.store.dialect import insert_for, sqlite_path
from bot.store.group_commit import GroupCommit
from bot.store.inbound_sqlite import SqliteFastPath
from bot.store.models import InboundWebhook
from bot.store.write_lock import write_lock

Rows = list[dict[str, Any]]
_INBOUND = cast(Table, InboundWebhook.__table__)
NewIds = dict[tuple[str, str], int]


class Lease(Protocol):
    """Who claims the stored rows, and until when (the inbox's ledger)."""

    owner: str

    def lease_end(self) -> datetime: ...


def _rows(channel: str, items: Sequence[Parsed], now: datetime, lease: Lease | None = None) -> Rows:
    """Rows claimed by the lease's instance for one lease: its own workers take them next."""
    owner, lease_end = (lease.owner, lease.lease_end()) if lease else (None, None)
    return [
        {
            "channel": channel,
            "dedupe_key": p.dedupe_key[:160],
            "payload": to_json(p),
            "received_at": now,
            "claimed_by": owner,
            "next_attempt_at": lease_end,
        }
        for p in items
    ]


async def _insert_rows(engine: AsyncEngine, rows: Rows) -> NewIds:
    """INSERT … ON CONFLICT DO NOTHING in one transaction; (channel, dedupe_key) → id of the
    rows that were new. Executemany, so SQLAlchemy compiles the statement once ("insertmanyvalues")
    instead of a new multi-row VALUES per batch size."""
    statement: Insert = (
        insert_for(engine)(_INBOUND)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
        .returning(InboundWebhook.id, InboundWebhook.channel, InboundWebhook.dedupe_key)
    )
    async with write_lock(engine), engine.begin() as connection:
        result = await connection.execute(statement, rows)
        return {(str(r[1]), str(r[2])): int(r[0]) for r in result}


async def store(
    engine: AsyncEngine, channel: str, items: Sequence[Parsed], now: datetime
) -> list[int]:
    """Persist the webhook's items in one statement; ids of the rows that were new."""
    if not items:
        return []
    rows = _rows(channel, items, now)
    new = await _insert_rows(engine, rows)
    return [
        new[k] for k in dict.fromkeys((r["channel"], r["dedupe_key"]) for r in rows) if k in new
    ]


class InboundWriter:
    """Concurrent acknowledgements share one transaction (the store's group commit): each
    request waits only for the commit that carries its rows, and the database sees one write
    per batch. On SQLite with a file, the write goes through the one-hop fast path."""

    def __init__(
        self,
        engine: AsyncEngine,
        max_rows: int = 500,
        busy_rate: float = 200,
        gather: float = 0.001,
        ledger: Lease | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        path = sqlite_path(engine)
        self.fast = SqliteFastPath(path) if path else None
        self.gather = gather
        self.group: GroupCommit[Rows, list[int | None]] = GroupCommit(
            self._commit,
            max_size=max_rows,
            size=len,
            alone_on_failure=False,  # every waiting request answers 503; the provider retries
            before_batch=self._gather if self.fast is not None and gather else None,
            name="webhook-writer",
        )
        # Acknowledgements counted per 100 ms bucket: `under_load` is a rate, so a lone webhook
        # (a shopper's reply) never makes background work wait.
        self.busy_acks = busy_rate * 0.1
        self.bucket = 0
        self.count = 0
        self.previous = 0

    async def store(
        self, channel: str, items: Sequence[Parsed], now: datetime
    ) -> list[tuple[int, Parsed]]:
        """The (row id, item) pairs that were new; repeats of stored provider ids are dropped."""
        if not items:
            return []
        self._count(asyncio.get_running_loop().time())
        ids = await self.group.submit(_rows(channel, items, now, self.ledger))
        return [(i, p) for i, p in zip(ids, items, strict=True) if i is not None]

    async def _gather(self) -> None:
        if self.under_load():
            # A commit costs ~0.2 ms of the event loop whatever it carries (WAL frames);
            # under a stream, waiting a millisecond lets it carry a few acknowledgements.
            await asyncio.sleep(self.gather)

    async def _commit(self, batch: Sequence[Rows]) -> list[list[int | None]]:
        rows = [row for entry_rows in batch for row in entry_rows]
        if self.fast is not None:
            new = await self._fast_insert(self.fast, rows)
        else:
            new = await _insert_rows(self.engine, rows)
        # pop: a key repeated within the batch is new only once
        return [[new.pop((r["channel"], r["dedupe_key"]), None) for r in entry] for entry in batch]

    async def _fast_insert(self, fast: SqliteFastPath, rows: Rows) -> NewIds:
        """First try at once, not queued behind this process's other writers: they hold the
        write lock across several event-loop turns (pool checkout, statements, commit, reset)
        but SQLite's own lock only from their first write to their commit. A synchronous
        write cannot interleave with them, and when SQLite's lock is taken nothing is written
        and the batch queues as before."""
        new = fast.insert_now(rows)
        if new is not None:
            return new
        async with write_lock(self.engine):
            return await fast.insert(rows)

    async def mark_processed(self, ids: list[int], at: datetime) -> bool:
        """SQLite: processed_at = `at` on those of `ids` still unmarked, the same way as the
        inserts (at once when SQLite's lock is free, else queued); False on PostgreSQL, where
        the caller's own UPDATE blocks no acknowledgement."""
        if self.fast is None:
            return False
        if not self.fast.mark_now(ids, at):
            async with write_lock(self.engine):
                await self.fast.mark(ids, at)
        return True

    def _count(self, now: float) -> None:
        bucket = int(now * 10)
        if bucket != self.bucket:
            self.previous = self.count if bucket == self.bucket + 1 else 0
            self.bucket, self.count = bucket, 0
        self.count += 1

    def under_load(self, now: float | None = None) -> bool:
        """About `busy_rate` acknowledgements per second or more: the current and the previous
        100 ms bucket hold at least a tenth of it. `now` is the event loop's time."""
        bucket = int((asyncio.get_running_loop().time() if now is None else now) * 10)
        if bucket == self.bucket:
            recent = self.previous + self.count
        elif bucket == self.bucket + 1:
            recent = self.count
        else:
            recent = 0
        return recent >= self.busy_acks

    @property
    def writing(self) -> bool:
        return self.group.writing

    def close(self) -> None:
        if self.fast is not None:
            self.fast.close()
