"""Provider limits: token buckets per sending number and per recipient, retries with jitter.

Limits are in real (wall-clock) time: they protect the provider, not a business rule, so they
deliberately do not read the sandbox clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx

from bot.channels.base import SendResult
from bot.channels.failures import FailureTable, Fate, transport_key

LONGEST_WAIT = 30.0  # the longest Retry-After waited inside a send; longer ones reschedule


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
    """One provider request; a transport error becomes a failure named for the table."""
    try:
        return await request
    except httpx.TransportError as exc:
        key = transport_key(exc)
        return SendResult("failed", error_code=key, error_reason=type(exc).__name__, failure=key)


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Retry-After when the provider gave one (plus a little jitter), else full-jitter backoff."""
    if retry_after is not None:
        return min(cap, retry_after) + random.uniform(0, min(1.0, base))
    return random.uniform(0, min(cap, base * 2**attempt))


async def with_retries(
    attempt: Callable[[], Awaitable[SendResult]],
    table: FailureTable,
    *,
    attempts: int = 4,
    base: float = 0.5,
    cap: float = LONGEST_WAIT,
    before: Callable[[], Awaitable[None]] | None = None,
) -> SendResult:
    """Call `attempt` again only while its failure is one the provider surely did not process
    (its row in `table`); one that may have been delivered is `unknown`, never re-sent (R-SR9).
    A Retry-After longer than `cap` is returned at once: the caller reschedules."""
    result = SendResult("failed", error_code="not_attempted")
    for number in range(attempts):
        if before is not None:
            await before()
        result = await attempt()
        if result.outcome != "failed" or result.failure is None:
            return result  # sent, or an answer that is final
        row = table.get(result.failure)
        if row is None or row.fate is Fate.MAYBE_SENT:
            return replace(result, outcome="unknown", retryable=False)
        result = replace(result, retryable=True)
        if result.retry_after is not None and result.retry_after > cap:
            return result  # a longer pause than a send may hold: the caller reschedules
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
