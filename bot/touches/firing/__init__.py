"""Firing due touches: claim, decide, mark `sending` and commit, send, record (R-SR9).

The touches table is the truth. A batch is claimed (`claim`: each row by one instance) and
decided in the same transaction (`decide`). It is then sent chunk by chunk (`send`): a
chunk's touches and message rows are committed `sending` before its provider calls, so a
crash can leave at most the chunks in flight `unknown` (one per lane: IN_FLIGHT_MAX touches)
but never sends anything twice. The outcomes of one chunk (`record`) and the `sending` mark of
the next share one commit.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from bot.clock import Clock
from bot.metrics import Metrics
from bot.outbound import Outbound
from bot.settings import Settings
from bot.store.db import SessionFactory
from bot.store.dialect import is_postgresql
from bot.touches.firing.claim import LANE_BATCH, Claims, instance_id
from bot.touches.firing.decide import decide_batch
from bot.touches.firing.jobs import Job
from bot.touches.firing.record import Recorder
from bot.touches.firing.send import SEND_CONCURRENCY, Sender
from bot.touches.firing.writes import Transactions
from flows.designer import DesignerFiles
from flows.loader import FlowSet

LANES = 2  # with a backlog, lanes claim, decide and send side by side (PostgreSQL)
IN_FLIGHT_MAX = SEND_CONCURRENCY * LANES  # `sending` at once: what a crash can leave unknown
PASS_SECONDS = 10.0  # a tick going on with what fell due meanwhile lets the other ticks run


class Firing:
    """The due-touches tick of one service instance."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        settings: Settings,
        flows: DesignerFiles,
        outbound: Outbound,
        metrics: Metrics,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.flows = flows
        self.metrics = metrics
        self.instance = instance_id()
        self.transactions = Transactions(sessions)
        engine = self.transactions.engine
        # several lanes need a database that lets several writers claim at once
        self.parallel = engine is not None and is_postgresql(engine)
        self.claims = Claims(self.transactions, self.instance)
        self.sender = Sender(self.transactions, self.instance, outbound, flows, settings)
        self.recorder = Recorder(outbound, settings, metrics)
        # one per lane, held from a chunk's `sending` mark to its outcomes
        self._in_flight = asyncio.Semaphore(LANES)

    async def tick(self, now: datetime) -> int:
        """Fire everything due by `now`, then, while that found work and the clock moved on,
        what fell due meanwhile (under load the next pass would start only an interval
        later); return how many touches were handled."""
        handled = 0
        started = time.monotonic()
        while True:
            fired = await self._fire(now)
            handled += fired
            later = self.clock.now()
            if not fired or later <= now or time.monotonic() - started > PASS_SECONDS:
                return handled
            now = later

    async def claim(self, now: datetime) -> list[int]:
        """Claim up to a batch of due touches in a transaction of their own; their ids."""
        return await self.claims.claim(now)

    async def _fire(self, now: datetime) -> int:
        """Everything due by `now`, in lanes; how many touches were handled."""
        if not await self.claims.anything_due(now):
            return 0
        helpers: list[asyncio.Task[int]] = []
        try:
            handled = await self._lane(now, helpers)
        except BaseException:
            await asyncio.gather(*helpers, return_exceptions=True)  # no lane left behind
            raise
        return handled + sum(await asyncio.gather(*helpers))

    async def _lane(self, now: datetime, helpers: list[asyncio.Task[int]]) -> int:
        """Claim and decide a batch, send it chunk by chunk; again until nothing is due. How
        many were claimed. Lanes overlap one batch's claiming and deciding with another's
        writes and sends, and each lane has at most one chunk `sending` (what a crash can
        leave unknown): while one lane waits for the database the other has work."""
        flows = self.flows.current
        handled = 0
        while True:
            # Committed before waiting for the turn to send: a lane waiting holds no row
            # lock (a SKIP LOCKED scan may keep locks on rows it did not return).
            async with self.transactions.lookups() as session:
                dues = await self.claims.claim_lane(session, now)
                if not dues:
                    return handled
                more = len(dues) == LANE_BATCH  # a short batch took all that was due
                if more and self.parallel and len(helpers) < LANES - 1:
                    # A backlog: another lane claims and decides while this one sends.
                    helpers.append(asyncio.create_task(self._lane(now, helpers)))
                jobs, writes = await decide_batch(session, dues, flows, self.settings, now)
                await writes.flush(session, self.metrics)
            handled += len(dues)
            if jobs:
                await self._send_all(jobs, flows, now)
            if not more:
                return handled

    async def _send_all(self, jobs: list[Job], flows: FlowSet, now: datetime) -> None:
        """Chunk by chunk, each committed `sending` before its provider calls."""
        chunks = [jobs[i : i + SEND_CONCURRENCY] for i in range(0, len(jobs), SEND_CONCURRENCY)]
        async with self._in_flight:
            try:
                async with self.transactions.lookups() as session:
                    await self.sender.mark_sending(session, chunks[0], now)
                for n, chunk in enumerate(chunks):
                    # Committed `sending`: now, and only now, the provider calls (R-SR9).
                    await self.sender.send_chunk(chunk, now)
                    following = chunks[n + 1] if n + 1 < len(chunks) else []
                    # One commit: this chunk's outcomes and the next chunk's mark.
                    async with self.transactions.lookups() as session:
                        await self.recorder.record(session, chunk, flows, now)
                        if following:
                            await self.sender.mark_sending(session, following, now)
            except BaseException:
                # Touches not yet `sending` go back (a `sending` one is never re-sent).
                await self.claims.release([j.touch.id for j in jobs])
                raise
