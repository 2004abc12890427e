"""Sandbox: a shopper's message as a provider would deliver it, a conversation's state, and
closing it as an operator would.

`POST /sandbox/inbound` handles the message synchronously and returns the replies it caused.
All answer 404 outside sandbox mode (CONTRACT.md).
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app_keys import CLOCK, INBOUND_HANDLER, SESSIONS, SETTINGS
from bot.channels.base import CHANNELS
from bot.channels.parsing import shopper_message
from bot.safejson import read_json
from bot.sandbox.outbox import outbox_item
from bot.store.models import Contact, Conversation, Message, Touch
from handoff.queue import release

MAX_TEXT = 4096


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=422)


def _sandbox_only(request: web.Request) -> None:
    if not request.app[SETTINGS].sandbox:
        raise web.HTTPNotFound()


async def post_inbound(request: web.Request) -> web.Response:
    _sandbox_only(request)
    body: Any = await read_json(request)
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    channel = body.get("channel")
    if channel not in CHANNELS:
        return _bad(f"channel must be one of {', '.join(CHANNELS)}")
    sender = body.get("from")
    if not isinstance(sender, str | int) or not str(sender).strip():
        return _bad("from is required (phone for whatsapp/sms, chat id for telegram)")
    text, button = body.get("text"), body.get("button")
    if (text is None) == (button is None):
        return _bad("give exactly one of text or button")
    given = text if text is not None else button
    if not isinstance(given, str):
        return _bad(f"{'text' if text is not None else 'button'} must be a string")
    if len(given) > MAX_TEXT:
        return _bad(f"text is longer than {MAX_TEXT} characters")
    inbound = shopper_message(
        channel,
        str(sender).strip(),
        f"sandbox-{uuid.uuid4().hex}",
        request.app[CLOCK].now(),
        text=text,
        button_payload=button,
        limit=MAX_TEXT,
    )
    handled = await request.app[INBOUND_HANDLER](inbound)
    if getattr(handled, "contact_id", None) is None:
        return web.json_response(
            {"error": f"no contact is reachable at {channel} {sender}"}, status=404
        )
    replies = await _items(request, list(getattr(handled, "message_ids", ())))
    return web.json_response(
        {"intent": handled.intent, "handled_by": handled.handled_by, "replies": replies}
    )


async def _items(request: web.Request, message_ids: list[int]) -> list[dict[str, Any]]:
    if not message_ids:
        return []
    async with request.app[SESSIONS]() as session:
        rows = (
            await session.scalars(
                select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)
            )
        ).all()
        touches = {
            t.id: t
            for t in (
                await session.scalars(
                    select(Touch).where(Touch.id.in_([m.touch_id for m in rows if m.touch_id]))
                )
            ).all()
        }
    return [outbox_item(m, touches.get(m.touch_id or 0)) for m in rows]


async def get_conversation(request: web.Request) -> web.Response:
    _sandbox_only(request)
    raw = request.match_info["contact_id"]
    async with request.app[SESSIONS]() as session:
        contact_id = await resolve_contact(session, raw)
        if contact_id is None:
            return web.json_response({"error": f"no contact {raw!r}"}, status=404)
        row = await session.scalar(
            select(Conversation).where(Conversation.contact_id == contact_id)
        )
    body: dict[str, Any] = {"state": row.state if row else "bot"}
    if row is not None and row.handoff_reason and row.state != "bot":
        body["handoff_reason"] = row.handoff_reason
    if row is not None and row.escalated_at is not None:
        body["escalated_at"] = row.escalated_at.isoformat().replace("+00:00", "Z")
    return web.json_response(body)


async def close_conversation(request: web.Request) -> web.Response:
    """Close the contact's chat as an operator would (CONTRACT)."""
    _sandbox_only(request)
    raw = request.match_info["contact_id"]
    async with request.app[SESSIONS].begin() as session:
        contact_id = await resolve_contact(session, raw)
        if contact_id is None:
            return web.json_response({"error": f"no contact {raw!r}"}, status=404)
        conversation = await release(session, contact_id, None, "closed", request.app[CLOCK].now())
        state = conversation.state
    return web.json_response({"state": state})


async def resolve_contact(session: AsyncSession, ref: str) -> int | None:
    """A contact by the shop's id (as in events), else by our numeric row id."""
    found = await session.scalar(
        select(Contact.id).where(Contact.external_id == ref).order_by(Contact.id).limit(1)
    )
    if found is None and ref.isdigit():
        found = await session.scalar(select(Contact.id).where(Contact.id == int(ref)))
    return int(found) if found is not None else None


def setup(app: web.Application) -> None:
    app.router.add_post("/sandbox/inbound", post_inbound)
    app.router.add_get("/sandbox/conversations/{contact_id}", get_conversation)
    app.router.add_post("/sandbox/conversations/{contact_id}/close", close_conversation)
