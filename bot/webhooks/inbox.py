"""Inbound webhooks: one durable write to acknowledge, then processing in tracked tasks.

The unique (channel, dedupe_key) constraint with INSERT … ON CONFLICT DO NOTHING drops a
provider's retries before anything else happens; a row is claimed (processed_at set) before
it is handled, so two instances never handle the same message twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import InboundMessage, StatusUpdate
from bot.channels.keys import StatusListener
from bot.channels.parsing import from_json
from bot.channels.write_lock import write_lock
from bot.clock import Clock
from bot.logmask import mask_phone
from bot.store.models import InboundWebhook
from bot.webhooks.statuses import apply_statuses
from bot.webhooks.writer import GroupWriter

log = logging.getLogger(__name__)

MessageHook = Callable[[InboundMessage], Awaitable[bool]]


class Inbox:
    """Processes stored webhooks in background tasks, one address at a time, in arrival order."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        handler: Callable[[], Callable[[InboundMessage], Awaitable[Any]] | None],
        listeners: list[StatusListener],
        hooks: Sequence[MessageHook] = (),
        workers: int = 8,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handler = handler
        self.listeners = listeners
        self.hooks = list(hooks)  # run first; True means "consumed" (e.g. a /start deep link)
        self.tasks: set[asyncio.Task[None]] = set()
        self.queued: list[int] = []
        self.writer = GroupWriter(engine)
        self.claimer: asyncio.Task[None] | None = None
        # A few workers, not a task per row: processing must leave the database (and the
        # event loop) to the acknowledgements; claimed rows wait here, the rest in `queued`.
        self.work: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue(maxsize=workers * 8)
        self.workers = workers
        self.running: list[asyncio.Task[None]] = []
        self.busy = 0
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock and how many hold or wait

    def schedule(self, ids: Sequence[int]) -> None:
        """Queue stored rows; one claimer takes everything queued in one UPDATE per round."""
        if not ids:
            return
        self.queued.extend(ids)
        if not self.running:
            self.running = [self._track(self._worker()) for _ in range(self.workers)]
        if self.claimer is None or self.claimer.done():
            self.claimer = self._track(self._claim_loop())

    @property
    def idle(self) -> bool:
        """Nothing queued, claimed or being handled (tests and shutdown wait for this)."""
        claiming = self.claimer is not None and not self.claimer.done()
        return not self.queued and not claiming and self.work.empty() and self.busy == 0

    async def _worker(self) -> None:
        while True:
            row_id, payload = await self.work.get()
            self.busy += 1
            try:
                await self._guarded(row_id, payload)
            finally:
                self.busy -= 1

    def _track(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _claim_loop(self) -> None:
        while self.queued:
            ids, self.queued = self.queued[:500], self.queued[500:]
            await self.process(ids)

    async def drain(self, grace: float = 10.0) -> None:
        """Finish what is in flight (shutdown); rows never claimed resume at the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self.queued.clear()  # still unclaimed in the database: resumed next time
        while not self.idle and loop.time() < deadline:  # noqa: ASYNC110 (shutdown only, several states)
            await asyncio.sleep(0.01)
        for task in self.running:
            task.cancel()
        if self.running:
            await asyncio.wait(self.running)
        self.running = []

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
        async with write_lock(self.engine), self.engine.begin() as connection:
            rows = (await connection.execute(statement)).all()
        return sorted((int(r[0]), r[1]) for r in rows)

    async def process(self, ids: list[int]) -> None:
        """Claim the rows, then handle each in its own task (ordered per address by a lock)."""
        try:
            claimed = await self._claim(ids)
        except Exception:
            log.exception("could not claim %d stored webhooks; they resume at next start", len(ids))
            return
        statuses = [(i, p) for i, p in claimed if p.get("kind") == "status"]
        if statuses:  # one transaction for the whole batch: status storms stay cheap
            await self._statuses(statuses)
        for row_id, payload in claimed:
            if payload.get("kind") != "status":
                await self.work.put((row_id, payload))

    async def _statuses(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        try:
            updates = [u for _, p in rows if isinstance(u := from_json(p), StatusUpdate)]
            changed = await apply_statuses(self.engine, updates)
        except Exception as exc:
            log.exception("applying %d delivery statuses failed", len(rows))
            for row_id, _ in rows:
                await self._record_error(row_id, f"{type(exc).__name__}: {exc}")
            return
        for update_, message_id in changed:
            for listener in list(self.listeners):
                try:
                    await listener(update_, message_id)
                except Exception:  # a listener's bug must not lose the other statuses
                    log.exception("status listener failed")

    async def _guarded(self, row_id: int, payload: dict[str, Any]) -> None:
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
            async with write_lock(self.engine), self.engine.begin() as connection:
                await connection.execute(statement)
        except Exception:
            log.exception("could not record the error of webhook %d", row_id)

    async def _one(self, item: InboundMessage | StatusUpdate) -> None:
        if isinstance(item, StatusUpdate):
            for update_, message_id in await apply_statuses(self.engine, [item]):
                for listener in list(self.listeners):
                    await listener(update_, message_id)
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
