"""Inbound webhooks: one durable write to acknowledge, then processing in tracked tasks.

The unique (channel, dedupe_key) constraint with INSERT … ON CONFLICT DO NOTHING drops a
provider's retries before anything else happens; a row is claimed (processed_at set) before
it is handled, so two instances never handle the same message twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import InboundMessage, StatusUpdate
from bot.channels.keys import StatusListener
from bot.channels.parsing import Parsed, from_json, to_json
from bot.clock import Clock
from bot.logmask import mask_phone
from bot.store.models import InboundWebhook
from bot.webhooks.statuses import apply_status

log = logging.getLogger(__name__)

MessageHook = Callable[[InboundMessage], Awaitable[bool]]


def _insert(engine: AsyncEngine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


async def store(
    engine: AsyncEngine, channel: str, items: Sequence[Parsed], now: datetime
) -> list[int]:
    """Persist the webhook's items in one statement; ids of the rows that were new."""
    if not items:
        return []
    rows = [
        {
            "channel": channel,
            "dedupe_key": p.dedupe_key[:160],
            "payload": to_json(p),
            "received_at": now,
        }
        for p in items
    ]
    statement: Insert = (
        _insert(engine)(InboundWebhook)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
        .returning(InboundWebhook.id)
    )
    async with engine.begin() as connection:
        return [int(i) for i in (await connection.execute(statement)).scalars()]


class Inbox:
    """Processes stored webhooks in background tasks, one address at a time, in arrival order."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        handler: Callable[[], Callable[[InboundMessage], Awaitable[Any]] | None],
        listeners: list[StatusListener],
        hooks: Sequence[MessageHook] = (),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handler = handler
        self.listeners = listeners
        self.hooks = list(hooks)  # run first; True means "consumed" (e.g. a /start deep link)
        self.tasks: set[asyncio.Task[None]] = set()
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock and how many hold or wait

    def schedule(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        task = asyncio.get_running_loop().create_task(self.process(list(ids)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait for the tasks in flight (shutdown); whatever is left resumes at the next start."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace)

    async def resume(self) -> int:
        """Schedule rows a previous run stored but never processed; how many."""
        statement = (
            select(InboundWebhook.id)
            .where(InboundWebhook.processed_at.is_(None))
            .order_by(InboundWebhook.id)
        )
        async with self.engine.connect() as connection:
            ids = [int(i) for i in (await connection.execute(statement)).scalars()]
        for start in range(0, len(ids), 100):
            self.schedule(ids[start : start + 100])
        return len(ids)

    async def _claim(self, ids: list[int]) -> list[tuple[int, dict[str, Any]]]:
        statement = (
            update(InboundWebhook)
            .where(InboundWebhook.id.in_(ids), InboundWebhook.processed_at.is_(None))
            .values(processed_at=self.clock.now())
            .returning(InboundWebhook.id, InboundWebhook.payload)
        )
        async with self.engine.begin() as connection:
            rows = (await connection.execute(statement)).all()
        return sorted((int(r[0]), r[1]) for r in rows)

    async def process(self, ids: list[int]) -> None:
        try:
            claimed = await self._claim(ids)
        except Exception:
            log.exception("could not claim %d stored webhooks; they resume at next start", len(ids))
            return
        for row_id, payload in claimed:
            try:
                await self._one(from_json(payload))
            except Exception as exc:  # one bad item must not stop the others
                log.exception("processing stored webhook %d failed", row_id)
                await self._record_error(row_id, f"{type(exc).__name__}: {exc}")

    async def _record_error(self, row_id: int, error: str) -> None:
        statement = (
            update(InboundWebhook).where(InboundWebhook.id == row_id).values(error=error[:300])
        )
        try:
            async with self.engine.begin() as connection:
                await connection.execute(statement)
        except Exception:
            log.exception("could not record the error of webhook %d", row_id)

    async def _one(self, item: InboundMessage | StatusUpdate) -> None:
        if isinstance(item, StatusUpdate):
            message_id = await apply_status(self.engine, item)
            if message_id is not None:
                for listener in list(self.listeners):
                    await listener(item, message_id)
            return
        key = f"{item.channel}:{item.address}"
        lock, users = self.locks.get(key, (asyncio.Lock(), 0))
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                for hook in self.hooks:
                    if await hook(item):
                        return
                handler = self.handler()
                if handler is None:
                    return
                who = item.address if item.channel == "telegram" else mask_phone(item.address)
                log.info("inbound %s message from %s", item.channel, who)
                await handler(item)
        finally:
            lock, users = self.locks[key]
            if users <= 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)
