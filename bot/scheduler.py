"""APScheduler drives periodic work; the jobs read the one clock and the touches table.

No business state lives in scheduler jobs: each tick asks the database what is due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock

log = logging.getLogger(__name__)

Tick = Callable[[datetime], Awaitable[object]]


class Scheduler:
    """An interval tick (due touches, retries) plus cron jobs (retention, reports)."""

    def __init__(self, clock: Clock, interval_seconds: float = 1.0) -> None:
        self.clock = clock
        self.interval_seconds = interval_seconds
        self._ticks: list[tuple[str, Tick]] = []
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._tick_lock = asyncio.Lock()
        self.last_tick_at: datetime | None = None
        self.failures = 0

    def add_tick(self, name: str, tick: Tick) -> None:
        """Run `tick(now)` every interval and on every sandbox clock move, in order."""
        self._ticks.append((name, tick))

    def add_interval(self, name: str, job: Callable[[], Awaitable[object]], seconds: float) -> None:
        """Run `job()` every `seconds` of wall-clock time, on its own: not held up by a tick
        working through a backlog, nor moved by the sandbox clock (heartbeats)."""

        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("interval job %s failed", name)

        self._aps.add_job(
            run, "interval", seconds=seconds, id=name, replace_existing=True, coalesce=True
        )

    def add_cron(self, name: str, job: Tick, **cron: str | int) -> None:
        async def run() -> None:
            try:
                await job(self.clock.now())
            except Exception:
                log.exception("cron job %s failed", name)

        self._aps.add_job(run, "cron", id=name, replace_existing=True, **cron)

    async def run_due(self) -> None:
        """One pass of every tick at the clock's current time (serialised)."""
        async with self._tick_lock:
            now = self.clock.now()
            for name, tick in self._ticks:
                try:
                    await tick(now)
                except Exception:
                    self.failures += 1
                    log.exception("tick %s failed", name)
            self.last_tick_at = now

    async def run_interval(self) -> None:
        """The interval's pass, skipped while one is still working through a backlog (the
        next interval after it takes what fell due meanwhile): passes do not queue up, and
        APScheduler does not log a skipped run every interval."""
        if not self._tick_lock.locked():
            await self.run_due()

    def start(self) -> None:
        self._aps.add_job(
            self.run_interval,
            "interval",
            seconds=self.interval_seconds,
            id="due-touches",
            max_instances=2,  # the second returns at once while the first still works
            coalesce=True,
            replace_existing=True,
        )
        self._aps.start()

    async def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        async with self._tick_lock:
            pass

    @property
    def status(self) -> str:
        return "ok" if self._aps.running else "down"
