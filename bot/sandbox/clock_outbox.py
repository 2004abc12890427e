"""The sandbox surface of CONTRACT.md: `POST /sandbox/clock`, `GET /sandbox/outbox`,
and a fake shop retry hook for the platform-error flow. Registered only in sandbox mode.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot import safejson
from bot.app_keys import CLOCK, SCHEDULER, SESSIONS
from bot.clock import ClockMovedBackError, SandboxClock
from bot.safejson import JSONBodyError, read_json
from bot.sandbox.outbox import outbox_item
from bot.store.models import Contact, Message, Touch

RETRY_OUTCOME: web.AppKey[dict[str, str]] = web.AppKey("sandbox_retry_outcome")


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def post_clock(request: web.Request) -> web.Response:
    """Move the clock forward, then fire (or defer) everything due before answering."""
    clock = request.app[CLOCK]
    if not isinstance(clock, SandboxClock):
        return _bad("the clock is not settable outside sandbox mode", 404)
    body: Any = await read_json(request)
    if not isinstance(body, dict) or ("set" in body) == ("advance_seconds" in body):
        return _bad('give exactly one of "set" (RFC 3339 time) or "advance_seconds" (number)')
    async with clock.lock:
        target = clock.now()
        try:
            if "set" in body:
                raw = body["set"]
                if not isinstance(raw, str):
                    return _bad("set: must be an RFC 3339 string with an offset")
                try:
                    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                except ValueError:
                    return _bad(f"set: {raw!r} is not an RFC 3339 time")
                if moment.tzinfo is None:
                    return _bad("set: the time needs an offset, e.g. 2026-03-02T09:00:00Z")
                target = moment
            else:
                seconds = body["advance_seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                    return _bad("advance_seconds: must be a number")
                if seconds < 0:
                    raise ClockMovedBackError("advance_seconds must not be negative")
                target = clock.now() + timedelta(seconds=float(seconds))
            if target.astimezone(UTC) < clock.now():
                raise ClockMovedBackError(
                    f"the clock cannot move back from {_stamp(clock.now())} to {_stamp(target)}"
                )
        except ClockMovedBackError as exc:
            return _bad(str(exc), 409)
        except OverflowError:
            return _bad("the clock cannot move that far")
        await _walk(request.app, clock, target.astimezone(UTC))
        return web.json_response({"now": _stamp(clock.now())})


async def _walk(app: web.Application, clock: SandboxClock, target: datetime) -> None:
    """Stop at each due time on the way, so touches fire when they were due, in order."""
    scheduler = app[SCHEDULER]
    seen: tuple[datetime, int] | None = None  # the earliest due touch, by time and id
    for round_ in range(100_000):
        async with app[SESSIONS]() as session:
            first = (
                await session.execute(
                    select(Touch.due_at, Touch.id)
                    .where(Touch.status == "planned", Touch.due_at <= target)
                    .order_by(Touch.due_at, Touch.id)
                    .limit(1)
                )
            ).first()
        if first is None:
            break
        due: datetime = first[0]
        # Touches planned by a pass for its own moment (a fallback) fire at that moment too;
        # a round that changed nothing ends the walk.
        if due <= clock.now() and round_ > 0 and (due, first[1]) == seen:
            break
        seen = (due, first[1])
        if due > clock.now():
            clock.set(due)
        await scheduler.run_due()
    clock.set(target)
    await scheduler.run_due()


async def get_outbox(request: web.Request) -> web.Response:
    contact_ref = request.query.get("contact_id")
    if not contact_ref:
        return _bad("contact_id: required (the shop's contact id)")
    async with request.app[SESSIONS]() as session:
        contact_ids = list(
            (
                await session.scalars(select(Contact.id).where(Contact.external_id == contact_ref))
            ).all()
        )
        if not contact_ids:
            return web.json_response([])
        rows = await session.execute(
            select(Message, Touch)
            .outerjoin(Touch, Touch.id == Message.touch_id)
            .where(Message.contact_id.in_(contact_ids), Message.direction == "out")
            .order_by(Message.created_at, Message.id)
        )
        items = [outbox_item(message, touch) for message, touch in rows.all()]
    return web.json_response(items)


async def post_shop_retry(request: web.Request) -> web.Response:
    """A stand-in for the shop's retry hook: answers with the outcome set for the demo."""
    try:
        body = safejson.loads(await request.read())
    except JSONBodyError:
        body = {}
    outcomes = request.app[RETRY_OUTCOME]
    if isinstance(body, dict) and "set_outcome" in body:
        outcomes["default"] = "paid" if body["set_outcome"] == "paid" else "failed"
        return web.json_response({"outcome": outcomes["default"]})
    checkout = str(body.get("checkout_id")) if isinstance(body, dict) else ""
    outcome = outcomes.get(checkout, outcomes.get("default", "paid"))
    return web.json_response({"status": outcome}, dumps=json.dumps)


def setup(app: web.Application) -> None:
    app[RETRY_OUTCOME] = {"default": "paid"}
    app.router.add_post("/sandbox/clock", post_clock)
    app.router.add_get("/sandbox/outbox", get_outbox)
    app.router.add_post("/sandbox/shop/retry", post_shop_retry)
