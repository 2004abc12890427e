"""Inbound webhooks after the acknowledgement: processed in the background, marked done in batches.

The acknowledging request stores its rows already claimed by this instance for one lease and
hands them (id + parsed item) straight to the inbox, so nothing is read back; a few workers
handle messages (in order per address), statuses of a batch are applied in one transaction,
and rows are marked processed, in one UPDATE per round, only once their processing succeeded.
A failure counts an attempt and retries after a backoff, the last one makes a dead letter
(bot/webhooks/ledger.py). Every instance polls for due rows: retries, and rows whose holder
crashed (its lease ran out), so a restart or a surviving peer carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import InboundMessage, StatusListener, StatusUpdate
from bot.channels.parsing import Item, Parsed, from_json
from bot.clock import Clock
from bot.logmask import mask_phone, mask_text
from bot.metrics import Metrics
from bot.store.inbound_writer import InboundWriter
from bot.store.models import InboundWebhook
from bot.store.write_lock import write_lock
from bot.webhooks.ledger import Claimed, Ledger, RetryPolicy
from bot.webhooks.statuses import apply_statuses

log = logging.getLogger(__name__)

MessageHook = Callable[[InboundMessage], Awaitable[bool]]
Entry = tuple[int, Item, int]  # row id, item, attempts that failed before


def _describe(exc: BaseException) -> str:
    """The error kept on the row: its type and first line, phone numbers masked."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return mask_text(f"{type(exc).__name__}: {first}")[:300]


class AckFirst:
    """Processing yields to acknowledgements: while they arrive at a high rate, one message is
    processed at a time and processing takes about `share` of the event loop's wall time at
    most; otherwise every worker runs freely. Stored rows wait; nothing is lost."""

    def __init__(self, writer: InboundWriter, share: float = 0.25, longest_pause: float = 0.1):
        self.writer = writer
        self.pause_per_second = (1 - share) / share
        self.longest_pause = longest_pause  # the floor: under endless load it still progresses
        self.lock = asyncio.Lock()
        self.resume_at = 0.0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if not self.writer.under_load():
            yield
            return
        loop = asyncio.get_running_loop()
        async with self.lock:
            wait = min(self.resume_at - loop.time(), self.longest_pause)
            if wait > 0 and self.writer.under_load():
                await asyncio.sleep(wait)
            began = loop.time()
            try:
                yield
            finally:
                # Wall time overstates the CPU used (I/O waits count), so the pause is capped.
                spent = loop.time() - began
                self.resume_at = loop.time() + spent * self.pause_per_second


class Inbox:
    """Processes stored webhooks in background tasks, one address at a time, in arrival order."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        handler: Callable[[], Callable[[InboundMessage], Awaitable[Any]] | None],
        listeners: list[StatusListener],
        hooks: Sequence[MessageHook] = (),
        workers: int = 4,
        policy: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handler = handler
        self.listeners = listeners
        self.hooks = list(hooks)  # run first; True means "consumed" (e.g. a /start deep link)
        self.ledger = Ledger(engine, policy or RetryPolicy())
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.poller: asyncio.Task[None] | None = None
        self.held: dict[int, float] = {}  # rows in work here → when their lease was last taken
        self.writer = InboundWriter(engine, ledger=self.ledger)
        self.ack_first = AckFirst(self.writer)
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending: list[Entry] = []
        self.done: list[int] = []
        self.dispatcher: asyncio.Task[None] | None = None
        self.marker: asyncio.Task[None] | None = None
        # A few workers, not a task per message: processing must leave the database and the
        # event loop to the acknowledgements.
        self.work: asyncio.Queue[tuple[int, InboundMessage, int]] = asyncio.Queue(
            maxsize=workers * 8
        )
        self.workers = workers
        self.running: list[asyncio.Task[None]] = []
        self.busy = 0
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock and how many hold or wait

    def accept(self, stored: Sequence[tuple[int, Parsed]]) -> None:
        """Rows the acknowledgement just stored, handed over in memory."""
        self.schedule([(row_id, parsed.item, 0) for row_id, parsed in stored])

    def schedule(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        now = asyncio.get_running_loop().time()
        for row_id, _, _ in entries:
            self.held[row_id] = now
        self.pending.extend(entries)
        if not self.running:
            self.running = [self._track(self._worker()) for _ in range(self.workers)]
        if self.dispatcher is None or self.dispatcher.done():
            self.dispatcher = self._track(self._dispatch())

    @property
    def idle(self) -> bool:
        """Nothing pending, handled or waiting to be marked (tests and shutdown wait for this)."""
        active = [t for t in (self.dispatcher, self.marker) if t is not None and not t.done()]
        return not (self.pending or self.done or active or self.busy) and self.work.empty()

    def _track(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _dispatch(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:500], self.pending[500:]
            statuses = [(i, u, n) for i, u, n in batch if isinstance(u, StatusUpdate)]
            if statuses:  # one transaction for the whole batch: status storms stay cheap
                await self._statuses(statuses)
            for row_id, item, attempts in batch:
                if isinstance(item, InboundMessage):
                    await self.work.put((row_id, item, attempts))

    async def _worker(self) -> None:
        while True:
            row_id, item, attempts = await self.work.get()
            self.busy += 1
            try:
                async with self.ack_first.turn():
                    await self._message(row_id, item, attempts)
            finally:
                self.busy -= 1

    def _mark(self, row_id: int) -> None:
        self.held.pop(row_id, None)
        self.done.append(row_id)
        if self.marker is None or self.marker.done():
            self.marker = self._track(self._mark_loop())

    async def _mark_loop(self) -> None:
        while self.done:
            if len(self.done) < 500 and self.writer.under_load():
                # One UPDATE for many: a transaction here also holds the write lock that the
                # acknowledgements wait for. A crash meanwhile only means redoing them.
                await asyncio.sleep(0.1)
            ids, self.done = self.done[:500], self.done[500:]
            try:
                await self._mark_processed(ids)
            except Exception:  # they stay unprocessed: redone when the lease runs out
                log.exception("could not mark %d webhooks processed", len(ids))

    async def _mark_processed(self, ids: list[int]) -> None:
        if await self.writer.mark_processed(ids, self.clock.now()):
            return  # SQLite: one short write, not a transaction held over event-loop turns
        statement = (
            update(InboundWebhook)
            .where(InboundWebhook.id.in_(ids), InboundWebhook.processed_at.is_(None))
            .values(processed_at=self.clock.now())
        )
        async with write_lock(self.engine), self.engine.begin() as connection:
            await connection.execute(statement)

    async def drain(self, grace: float = 10.0) -> None:
        """Finish what is in flight (shutdown); anything left is redone at the next start."""
        if self.poller is not None:
            self.poller.cancel()
            await asyncio.wait([self.poller])
            self.poller = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while not self.idle and loop.time() < deadline:  # noqa: ASYNC110 (shutdown only)
            await asyncio.sleep(0.01)
        for task in self.running:
            task.cancel()
        if self.running:
            await asyncio.wait(self.running)
        self.running = []

    async def resume(self) -> int:
        """Claim the rows due now, also those no instance ever claimed, and process them (at
        start-up: retries and the rows of a crashed holder whose lease ran out); how many."""
        total = 0
        while True:
            claimed = await self.ledger.claim(unclaimed=True)
            total += await self._take(claimed)
            if len(claimed) < 500:
                return total

    def start(self) -> None:
        """Poll for due rows in the background until `drain`."""
        if self.poller is None or self.poller.done():
            self.poller = asyncio.get_running_loop().create_task(self._poll_loop())

    async def _poll_loop(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self._renew()
                await self._take(await self.ledger.claim())
                if rounds % 10 == 0:
                    await self.dead_letters()
            except Exception:  # the database is away: try again next round
                log.warning("polling stored webhooks failed", exc_info=True)
            rounds += 1

    async def _renew(self) -> None:
        """Keep the lease of rows still in work here (a long backlog, a slow provider)."""
        now = asyncio.get_running_loop().time()
        stale = [
            i
            for i, taken in self.held.items()
            if now - taken > self.ledger.policy.lease_seconds / 3
        ]
        if stale:
            await self.ledger.renew(stale)
            for row_id in stale:
                if row_id in self.held:
                    self.held[row_id] = now

    async def _take(self, claimed: Sequence[Claimed]) -> int:
        entries: list[Entry] = []
        for row in claimed:
            if row.row_id in self.held:  # already in work here: the claim only renewed it
                continue
            try:
                entries.append((row.row_id, from_json(row.payload), row.attempts))
            except (KeyError, TypeError, ValueError) as exc:
                final = self.ledger.policy.max_attempts - 1
                await self._failed(row.row_id, max(row.attempts, final), f"unreadable: {exc}")
        self.schedule(entries)
        return len(entries)

    async def dead_letters(self) -> int:
        """How many dead letters the database holds (also exported as a gauge)."""
        count = await self.ledger.dead_count()
        if self.metrics is not None:
            self.metrics.inbox_dead_letters.set(count)
        return count

    async def _failed(self, row_id: int, attempts: int, error: str) -> None:
        """Count the failed attempt; the row comes back after its backoff, or is dead."""
        self.held.pop(row_id, None)
        try:
            dead = await self.ledger.failed(row_id, attempts, error)
        except Exception:  # it stays claimed: retried when the lease runs out
            log.exception("could not record the failure of webhook %d", row_id)
            return
        if self.metrics is not None:
            self.metrics.inbox_failures_total.labels(outcome="dead" if dead else "retry").inc()
        if dead:
            log.error("webhook %d is a dead letter after %d attempts", row_id, attempts + 1)

    async def _statuses(self, entries: list[tuple[int, StatusUpdate, int]]) -> None:
        try:
            changed = await apply_statuses(self.engine, [u for _, u, _ in entries])
        except Exception as exc:
            log.exception("applying %d delivery statuses failed", len(entries))
            for row_id, _, attempts in entries:
                await self._failed(row_id, attempts, _describe(exc))
            return
        for update_, message_id in changed:
            for listener in list(self.listeners):
                try:
                    await listener(update_, message_id)
                except Exception:  # a listener's bug must not lose the other statuses
                    log.exception("status listener failed")
        for row_id, _, _ in entries:
            self._mark(row_id)

    async def _message(self, row_id: int, item: InboundMessage, attempts: int) -> None:
        key = f"{item.channel}:{item.address}"
        lock, users = self.locks.get(key, (asyncio.Lock(), 0))
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self._handle(item)
        except Exception as exc:  # one bad message must not stop the others
            log.exception("processing stored webhook %d failed", row_id)
            await self._failed(row_id, attempts, _describe(exc))
        else:
            self._mark(row_id)
        finally:
            lock, users = self.locks[key]
            if users <= 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)

    async def _handle(self, item: InboundMessage) -> None:
        for hook in self.hooks:
            if await hook(item):
                return
        handler = self.handler()
        if handler is None:
            return
        who = item.address if item.channel == "telegram" else mask_phone(item.address)
        log.info("inbound %s message from %s", item.channel, who)
        await handler(item)


async def inbox_health(inbox: Inbox) -> tuple[str, dict[str, int]]:
    """`/health`'s inbox line: degraded while dead letters wait for an operator."""
    count = await inbox.dead_letters()
    return ("ok" if count == 0 else "degraded", {"dead_letters": count})
