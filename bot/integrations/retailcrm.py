"""retailCRM (R-IN3): incremental sync of `GET /api/v5/orders/history` into Nudge events.

Each page's events and the new `sinceId` commit in one transaction (so a restart neither
loses nor repeats a change); pages advance by `filter[sinceId]`, as retailCRM asks (it
refuses `sinceId` with `page`). 429/503 back off and retry; `success: false` is an error
that stops the pass and shows on /health until a pass succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiolimiter import AsyncLimiter
from pydantic import TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from bot.api.ingest import EventListener, apply_events
from bot.api.schemas import ShopEvent
from bot.clock import Clock
from bot.integrations.common import SHOP, e164, first_name, obj
from bot.integrations.status import IntegrationStatus
from bot.store.db import SessionFactory
from bot.store.models import IntegrationCursor
from flows.replies import Shop

log = logging.getLogger(__name__)
_EVENT = TypeAdapter(ShopEvent)
NAME = "retailcrm"
PAGE_LIMIT = 100
_STAMP = "%Y-%m-%d %H:%M:%S"


class RetailCrmError(RuntimeError):
    """The API refused or failed; the message never holds the API key."""


@dataclass(frozen=True)
class _Answer:
    status: int
    retry_after: float | None  # seconds, when Retry-After gives them
    body: Any  # the JSON body, or None when it is not JSON


class RetailCrmClient:
    """GET with the apiKey, at most `rate` requests a second, backing off on 429 and 503."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        *,
        rate: float = 8.0,
        attempts: int = 4,
        backoff_seconds: float = 1.0,
    ) -> None:
        self._session = session
        self._base = base_url
        self._key = api_key
        self._limiter = AsyncLimiter(1, 1.0 / rate)  # evenly spaced, no bursts
        self._attempts = attempts
        self.backoff_seconds = backoff_seconds

    async def _request(self, path: str, params: dict[str, str]) -> _Answer:
        await self._limiter.acquire()
        query = {**params, "apiKey": self._key}
        async with self._session.get(self._base + path, params=query) as response:
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = None
            retry_after = response.headers.get("Retry-After", "")
            seconds = float(retry_after) if retry_after.isdigit() else None
            return _Answer(response.status, seconds, body)

    def _delay(self, state: RetryCallState) -> float:
        """Retry-After (at most 60 s) when it is given in seconds, else doubling backoff."""
        answer: _Answer | None = state.outcome.result() if state.outcome else None
        retry_after = answer.retry_after if answer is not None else None
        if retry_after is not None:
            return min(retry_after, 60.0)
        return float(wait_exponential(multiplier=self.backoff_seconds)(state))

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        def log_retry(state: RetryCallState) -> None:
            status = state.outcome.result().status if state.outcome else 0
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning("retailCRM %s: HTTP %d, retrying in %.1f s", path, status, delay)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._delay,
            retry=retry_if_result(lambda answer: answer.status in (429, 503)),
            before_sleep=log_retry,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        answer: _Answer = await retrying(self._request, path, params)
        if not isinstance(answer.body, dict):
            raise RetailCrmError(f"{path}: HTTP {answer.status}, not a JSON object")
        if answer.status >= 400 or answer.body.get("success") is not True:
            why = answer.body.get("errorMsg") or "success is not true"
            raise RetailCrmError(f"{path}: HTTP {answer.status}: {why}"[:300])
        return answer.body

    async def history(self, since_id: int | None, start: datetime) -> dict[str, Any]:
        params = {"limit": str(PAGE_LIMIT)}
        if since_id is not None:
            params["filter[sinceId]"] = str(since_id)
        else:
            params["filter[startDate]"] = start.strftime(_STAMP)
        return await self.get("/api/v5/orders/history", params)

    async def order(self, order_id: str) -> dict[str, Any]:
        body = await self.get(f"/api/v5/orders/{order_id}", {"by": "id"})
        return obj(body.get("order"))


def _contact(order: dict[str, Any]) -> dict[str, Any] | None:
    customer = obj(order.get("customer"))
    customer_id = customer.get("id")
    if not isinstance(customer_id, int | str) or isinstance(customer_id, bool):
        return None
    contact: dict[str, Any] = {"id": f"retailcrm:{customer_id}"}
    region = order.get("countryIso") or obj(obj(order.get("delivery")).get("address")).get(
        "countryIso"
    )
    numbers = [obj(p).get("number") for p in customer.get("phones") or []]
    for raw in [order.get("phone"), *numbers]:
        phone = e164(raw, region)
        if phone:
            contact["phone"] = phone
            break
    name = first_name(order.get("firstName")) or first_name(customer.get("firstName"))
    if name:
        contact["name"] = name
    return contact


def translate(
    record: dict[str, Any], order: dict[str, Any], zone: ZoneInfo, statuses: dict[str, str]
) -> dict[str, Any] | None:
    """A history record → order.status_changed (field `status`) or order.paid (a payment's
    status becoming `paid`); None for every other change or an order without a customer."""
    field = record.get("field")
    code = obj(record.get("newValue")).get("code")
    contact = _contact(order)
    if contact is None or not isinstance(code, str) or order.get("id") is None:
        return None
    occurred = datetime.strptime(str(record["createdAt"]), _STAMP).replace(tzinfo=zone)
    order_ref = f"retailcrm:{order['id']}"
    event: dict[str, Any] = {
        "id": f"retailcrm:history:{record['id']}",
        "occurred_at": occurred.isoformat(),
        "contact": contact,
    }
    if field == "status":
        return {**event, "type": "order.status_changed",
                "order": {"id": order_ref, "status": statuses.get(code, code)}}  # fmt: skip
    if field == "payments.status" and code == "paid":
        return {**event, "type": "order.paid", "checkout": {"id": order_ref},
                "order": {"id": order_ref}}  # fmt: skip
    return None


@dataclass(eq=False)
class RetailCrmSync:
    """Pages through retailCRM's order history from the stored cursor; each change becomes a
    shop event for the listeners."""

    sessions: SessionFactory
    clock: Clock
    listeners: list[EventListener]
    status: IntegrationStatus
    _: KW_ONLY
    base_url: str
    api_key: str = field(repr=False)
    timezone: str
    shop: Callable[[], Shop]  # the designer files' shop settings, as they stand
    backoff_seconds: float = 1.0
    _zone: ZoneInfo = field(init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.timezone)

    def _statuses(self) -> dict[str, str]:
        return dict(self.shop().retailcrm.statuses)

    async def _cursor(self) -> IntegrationCursor:
        async with self.sessions.begin() as session:
            cursor = await session.get(IntegrationCursor, NAME)
            if cursor is None:  # the first sync starts now: old history sends nothing
                cursor = IntegrationCursor(name=NAME, since_id=None, started_at=self.clock.now())
                session.add(cursor)
            if self.status.last_sync_at is None:  # after a restart: what the table remembers
                self.status.last_sync_at = cursor.last_sync_at
                self.status.last_error = cursor.last_error
                self.status.last_error_at = cursor.last_error_at
            return cursor

    async def _record_error(self, error: str) -> None:
        now = self.clock.now()
        self.status.failed(now, error)
        async with self.sessions.begin() as session:
            cursor = await session.get(IntegrationCursor, NAME)
            if cursor is not None:
                cursor.last_error, cursor.last_error_at = error[:300], now

    async def run(self, _now: datetime | None = None) -> int:
        """One pass (the scheduler's job): every new history record; the number of events
        applied. Failures are recorded for /health and the console, never raised."""
        if self._lock.locked():
            return 0
        async with self._lock:
            try:
                return await self._pass()
            except (RetailCrmError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("retailCRM sync failed: %s", exc)
                await self._record_error(str(exc) or type(exc).__name__)
                return 0
            except Exception as exc:  # a bug or a shape we did not expect: shown, not hidden
                log.exception("retailCRM sync failed")
                await self._record_error(f"unexpected {type(exc).__name__}")
                return 0

    async def _pass(self) -> int:
        cursor = await self._cursor()
        statuses = self._statuses()
        applied = 0
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            client = RetailCrmClient(
                http, self.base_url, self.api_key, backoff_seconds=self.backoff_seconds
            )
            since_id, orders = cursor.since_id, dict[str, dict[str, Any]]()
            while True:
                page = await client.history(since_id, cursor.started_at.astimezone(self._zone))
                records = [obj(r) for r in page.get("history") or []]
                if not all(isinstance(r.get("id"), int) for r in records):
                    raise RetailCrmError("orders/history: a record without a numeric id")
                records.sort(key=lambda r: int(r["id"]))
                if not records:
                    break
                events = [await self._event(client, r, orders, statuses) for r in records]
                since_id = int(records[-1]["id"])
                applied += await self._commit([e for e in events if e is not None], since_id)
                if int(obj(page.get("pagination")).get("totalPageCount") or 1) <= 1:
                    break
        now = self.clock.now()
        async with self.sessions.begin() as session:
            row = await session.get(IntegrationCursor, NAME)
            if row is not None:
                row.last_sync_at, row.last_error = now, None
        self.status.synced(now)
        return applied

    async def _event(
        self,
        client: RetailCrmClient,
        record: dict[str, Any],
        orders: dict[str, dict[str, Any]],
        statuses: dict[str, str],
    ) -> ShopEvent | None:
        if record.get("field") not in ("status", "payments.status"):
            return None
        order = obj(record.get("order"))
        key = str(order.get("id"))
        if obj(order.get("customer")).get("id") is not None:
            orders[key] = order
        elif key not in orders and order.get("id") is not None:
            orders[key] = await client.order(key)  # the record names the order only
        try:  # one bad record must not stop the sync
            raw = translate(record, orders.get(key, order), self._zone, statuses)
            return _EVENT.validate_python(raw) if raw is not None else None
        except ValidationError as exc:
            log.warning("retailCRM history %s skipped: %s", record["id"], exc.errors()[:1])
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("retailCRM history %s skipped: %r", record["id"], exc)
        return None

    async def _commit(self, events: Sequence[ShopEvent], since_id: int) -> int:
        async with self.sessions.begin() as session:
            new_ids = await apply_events(session, SHOP, events, self.clock.now(), self.listeners)
            cursor = await session.get(IntegrationCursor, NAME)
            assert cursor is not None
            cursor.since_id = since_id
        if new_ids:
            self.status.event(self.clock.now())
        return len(new_ids)
