"""Provider limits: token buckets per sending number and per recipient, retries with jitter.

Limits are in real (wall-clock) time: they protect the provider, not a business rule, so they
deliberately do not read the sandbox clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from bot.channels.base import SendResult


class TokenBucket:
    """`rate` sends per second with bursts up to `capacity`; waiters reserve in arrival order."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def reserve(self) -> float:
        """Take one token now and return how long the caller must wait before using it."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    @property
    def idle(self) -> bool:
        elapsed = time.monotonic() - self.updated
        return self.tokens + elapsed * self.rate >= self.capacity

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


class KeyedLimiter:
    """One bucket per key (a recipient); full idle buckets are dropped to bound memory."""

    def __init__(self, rate: float, capacity: float, max_keys: int = 50_000) -> None:
        self.rate = rate
        self.capacity = capacity
        self.max_keys = max_keys
        self.buckets: dict[str, TokenBucket] = {}

    async def acquire(self, key: str) -> None:
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets = {k: b for k, b in self.buckets.items() if not b.idle}
            bucket = self.buckets[key] = TokenBucket(self.rate, self.capacity)
        await bucket.acquire()


class Pacer:
    """Everything a client does before each attempt: the number's and the recipient's buckets."""

    def __init__(self, per_number: float, per_recipient: float, recipient_burst: float) -> None:
        self.number = TokenBucket(per_number)
        self.recipients = KeyedLimiter(per_recipient, recipient_burst)

    async def wait(self, recipient: str) -> None:
        await self.recipients.acquire(recipient)
        await self.number.acquire()


async def post_once(request: Awaitable[httpx.Response]) -> httpx.Response | SendResult:
    """One provider request; a transport error becomes the SendResult it means."""
    try:
        return await request
    except httpx.ConnectError as exc:  # nothing reached the provider: safe to retry
        return SendResult(
            "failed", error_code="connect", error_reason=str(exc)[:200], retryable=True
        )
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        # The provider may have accepted it: flag, never re-send blindly (R-SR9).
        return SendResult("unknown", error_code="timeout", error_reason=type(exc).__name__)


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Retry-After when the provider gave one (plus a little jitter), else full-jitter backoff."""
    if retry_after is not None:
        return min(cap, retry_after) + random.uniform(0, min(1.0, base))
    return random.uniform(0, min(cap, base * 2**attempt))


async def with_retries(
    attempt: Callable[[], Awaitable[SendResult]],
    *,
    attempts: int = 4,
    base: float = 0.5,
    cap: float = 30.0,
    before: Callable[[], Awaitable[None]] | None = None,
) -> SendResult:
    """Call `attempt` until it is not retryable; `unknown` (timeout) is never retried (R-SR9)."""
    result = SendResult("failed", error_code="not_attempted", retryable=True)
    for number in range(attempts):
        if before is not None:
            await before()
        result = await attempt()
        if not result.retryable or result.outcome != "failed":
            return result
        if result.retry_after is not None and result.retry_after > cap:
            return result  # the provider wants a longer pause than a send may hold: caller decides
        if number + 1 < attempts:
            await asyncio.sleep(backoff_delay(number, base, cap, result.retry_after))
    return result


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are rare here)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
