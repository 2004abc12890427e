"""Provider limits: token buckets per sending number and per recipient (aiolimiter), retries
with Retry-After or jitter (tenacity).

Limits are in real (wall-clock) time: they protect the provider, not a business rule, so they
deliberately do not read the sandbox clock.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from bot.channels.base import SendResult
from bot.channels.failures import FailureTable, Fate, http_key, transport_key

LONGEST_WAIT = 30.0  # the longest Retry-After waited inside a send; longer ones reschedule


class TokenBucket(AsyncLimiter):
    """`rate` sends per second with bursts up to `capacity` (aiolimiter's leaky bucket)."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        burst = float(capacity if capacity is not None else max(1.0, rate))
        super().__init__(burst, burst / rate)

    @property
    def idle(self) -> bool:
        """Full again: forgetting it changes nothing."""
        return self.has_capacity(self.max_rate)


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


def _classified(result: SendResult, table: FailureTable) -> SendResult:
    """A failure the provider surely did not process may be retried; one that may have been
    delivered is `unknown`, never re-sent (R-SR9)."""
    if result.outcome != "failed" or result.failure is None:
        return result  # sent, or an answer that is final
    row = table.get(result.failure)
    if row is None or row.fate is Fate.MAYBE_SENT:
        return replace(result, outcome="unknown", retryable=False)
    return replace(result, retryable=True)


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
    (its row in `table`), waiting Retry-After or a full-jitter backoff in between.
    A Retry-After longer than `cap` is returned at once: the caller reschedules."""

    async def one_attempt() -> SendResult:
        if before is not None:
            await before()
        return _classified(await attempt(), table)

    def worth_retrying(result: SendResult) -> bool:
        waits_longer = result.retry_after is not None and result.retry_after > cap
        retryable = result.failure is not None and result.retryable  # as _classified left it
        return result.outcome == "failed" and retryable and not waits_longer

    def delay(state: RetryCallState) -> float:
        retry_after = state.outcome.result().retry_after if state.outcome else None
        return backoff_delay(state.attempt_number - 1, base, cap, retry_after)

    def last_result(state: RetryCallState) -> SendResult:
        assert state.outcome is not None  # tenacity gives up only after an attempt
        result: SendResult = state.outcome.result()
        return result

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=delay,
        retry=retry_if_result(worth_retrying),
        retry_error_callback=last_result,
    )
    return await retrying(one_attempt)


@dataclass(kw_only=True, eq=False)
class PacedSender:
    """A channel's sending pace: the pacer each attempt waits on, and its retries."""

    pacer: Pacer
    attempts: int = 4
    backoff: float = 0.5

    async def paced(
        self, to: str, attempt: Callable[[], Awaitable[SendResult]], table: FailureTable
    ) -> SendResult:
        """`attempt` with this channel's retries, each try first waiting its turn for `to`."""
        return await with_retries(
            attempt,
            table,
            attempts=self.attempts,
            base=self.backoff,
            before=lambda: self.pacer.wait(to),
        )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are rare here)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def http_failed(
    response: httpx.Response, table: FailureTable, code: str | None, reason: str
) -> SendResult:
    """A provider's error answer as a failed send: its code (else the HTTP status), the
    wait it asks for, and its key in the channel's failure table."""
    return SendResult(
        "failed",
        error_code=code or str(response.status_code),
        error_reason=reason,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        failure=http_key(table, response.status_code, code),
    )
