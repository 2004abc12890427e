"""The one clock every rule reads; sandbox mode lets tests and designers move it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class ClockMovedBackError(ValueError):
    """The sandbox clock only moves forward."""


class Clock:
    """Wall-clock time in UTC. Subclassed by the settable sandbox clock."""

    settable = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class SandboxClock(Clock):
    """A clock that starts at real time and then moves only when told to."""

    settable = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self.lock = asyncio.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a time with a UTC offset")
        target = moment.astimezone(UTC)
        if target < self._now:
            raise ClockMovedBackError(
                f"the clock cannot move back from {self._now.isoformat()} to {target.isoformat()}"
            )
        self._now = target
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ClockMovedBackError("advance_seconds must not be negative")
        return self.set(self._now + timedelta(seconds=seconds))
