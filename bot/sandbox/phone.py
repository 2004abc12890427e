"""The sandbox "phone" at `/sandbox/phone`: see a contact's messages live, tap buttons, reply.

Replies go the provider's way: the fake provider posts a signed webhook to the service, so
the phone exercises exactly the path a real shopper's message takes.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app_keys import FAKES, SESSIONS
from bot.safejson import read_json
from bot.store.models import Contact, Message

PAGE = Path(__file__).parent / "static" / "phone.html"
POLL_SECONDS = 0.3
STREAM_SECONDS = 300  # the browser's EventSource reconnects by itself


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")


async def contacts(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        rows = (await session.scalars(select(Contact).order_by(Contact.id.desc()).limit(200))).all()
    return web.json_response(
        [
            {
                "id": c.id,
                "external_id": c.external_id,
                "name": c.first_name,
                "phone": c.phone,
                "telegram_chat_id": c.telegram_chat_id,
            }
            for c in rows
        ]
    )


def _item(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "channel": message.channel,
        "text": message.text,
        "buttons": (message.buttons or {}).get("items", []),
        "status": message.status,
        "at": message.created_at.isoformat(),
    }


def _contact_id(request: web.Request) -> int:
    raw = request.query.get("contact_id", "")
    if not raw.isdigit():
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": "contact_id: expected an integer"}),
            content_type="application/json",
        )
    return int(raw)


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every new message of the contact, and every status change."""
    contact_id = _contact_id(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    seen: dict[int, str] = {}
    deadline = time.monotonic() + STREAM_SECONDS
    try:
        while time.monotonic() < deadline:
            async with request.app[SESSIONS]() as session:
                rows = (
                    await session.scalars(
                        select(Message)
                        .where(Message.contact_id == contact_id)
                        .order_by(Message.id.desc())
                        .limit(100)
                    )
                ).all()
            for message in reversed(rows):
                if seen.get(message.id) != message.status:
                    seen[message.id] = message.status
                    data = json.dumps(_item(message), ensure_ascii=False)
                    await response.write(f"event: message\ndata: {data}\n\n".encode())
            await response.write(b": keep-alive\n\n")
            await asyncio.sleep(POLL_SECONDS)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def send(request: web.Request) -> web.Response:
    """The shopper replies (text or a tapped button) through the fake provider's webhook."""
    fakes = request.app.get(FAKES)
    if fakes is None:
        return web.json_response({"error": "real providers are configured; no fake"}, status=409)
    body: Any = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("contact_id"), int):
        return web.json_response({"error": "contact_id: expected an integer"}, status=422)
    text, button = body.get("text"), body.get("button")
    if not (isinstance(text, str) and text.strip()) and not isinstance(button, str):
        return web.json_response({"error": "text or button: one is required"}, status=422)
    async with request.app[SESSIONS]() as session:
        contact = await session.get(Contact, body["contact_id"])
        last = await session.scalar(
            select(Message.channel)
            .where(Message.contact_id == body["contact_id"])
            .order_by(Message.id.desc())
            .limit(1)
        )
    if contact is None:
        return web.json_response({"error": "contact_id: not found"}, status=404)
    channel = body.get("channel") or last or ("whatsapp" if contact.phone else "telegram")
    title = str(body.get("title") or "")
    if channel == "telegram":
        if not contact.telegram_chat_id:
            return web.json_response({"error": "contact has no Telegram chat"}, status=422)
        status = await fakes.telegram.deliver(contact.telegram_chat_id, text=text, button=button)
    elif not contact.phone:
        return web.json_response({"error": "contact has no phone"}, status=422)
    elif channel == "sms":
        status = await fakes.twilio.deliver(
            contact.phone, str(button if button is not None else text)
        )
    else:
        status = await fakes.whatsapp.deliver(contact.phone, text=text, button=button, title=title)
    return web.json_response({"channel": channel, "webhook_status": status})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/sandbox/phone", page)
    app.router.add_get("/sandbox/phone/contacts", contacts)
    app.router.add_get("/sandbox/phone/events", events)
    app.router.add_post("/sandbox/phone/send", send)
