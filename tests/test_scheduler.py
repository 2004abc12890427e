"""The interval pass of bot/scheduler.py: passes never overlap and never queue up."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from bot.clock import SandboxClock
from bot.scheduler import Scheduler
from tests.channels_fixtures import wait_for

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def test_interval_pass_is_skipped_while_a_pass_works() -> None:
    scheduler = Scheduler(SandboxClock(START))
    release = asyncio.Event()
    passes: list[datetime] = []

    async def slow_tick(now: datetime) -> None:
        passes.append(now)
        await release.wait()

    scheduler.add_tick("slow", slow_tick)
    working = asyncio.create_task(scheduler.run_interval())
    await asyncio.sleep(0)
    assert len(passes) == 1
    await asyncio.wait_for(scheduler.run_interval(), 1)  # returns at once: no second pass
    assert len(passes) == 1
    release.set()
    await working
    await scheduler.run_interval()  # the first is done: this one runs
    assert len(passes) == 2


class CountingScheduler(Scheduler):
    """Counts the interval's firings, so a test waits for them instead of for time."""

    def __init__(self, clock: SandboxClock, interval_seconds: float) -> None:
        super().__init__(clock, interval_seconds)
        self.firings = 0

    async def run_interval(self) -> None:
        self.firings += 1
        await super().run_interval()


async def test_long_pass_logs_no_skipped_runs(caplog: pytest.LogCaptureFixture) -> None:
    scheduler = CountingScheduler(SandboxClock(START), interval_seconds=0.02)
    release = asyncio.Event()
    passes = 0

    async def slow_tick(now: datetime) -> None:
        nonlocal passes
        passes += 1
        await release.wait()

    async def fired_15_times() -> bool:
        return scheduler.firings >= 15

    async def passed_twice() -> bool:
        return passes >= 2

    scheduler.add_tick("slow", slow_tick)
    with caplog.at_level(logging.WARNING):
        scheduler.start()
        try:
            await wait_for(fired_15_times, "15 intervals while the first pass works")
            release.set()
            await wait_for(passed_twice, "a second pass after the long one")
        finally:
            await scheduler.stop()
    assert passes >= 2  # the interval went on after the long pass
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
