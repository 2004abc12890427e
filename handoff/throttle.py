"""Login throttling: failures counted per client address and per username in a sliding window.

Reads monotonic wall time on purpose: security must not move with the sandbox clock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from aiohttp import web

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60.0
MAX_KEYS = 100_000  # bounds memory under a flood of invented usernames


class LoginThrottle:
    """At most `limit` failures per key within `window` seconds; then wait."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds until a refused key may try again, or None when none is refused."""
        now = self._clock()
        waits = [
            times[0] + self.window - now
            for times in (self._recent(key, now) for key in keys)
            if len(times) >= self.limit
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forgive(self, keys: Iterable[str]) -> None:
        """Take back one recorded failure per key (the attempt turned out right)."""
        now = self._clock()
        for key in keys:
            times = self._recent(key, now)
            if times:
                times.pop()
            if not times:
                self._failures.pop(key, None)


LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)


def login_keys(request: web.Request, username: str) -> tuple[str, str]:
    return f"ip:{request.remote or '-'}", f"user:{username.casefold()}"
