"""`POST /sandbox/providers/whatsapp/unavailable`: the fake reports a number as not on WhatsApp."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.app_keys import FAKES
from bot.phones import is_e164
from bot.safejson import read_json


async def whatsapp_unavailable(request: web.Request) -> web.Response:
    fakes = request.app.get(FAKES)
    if fakes is None:
        return web.json_response({"error": "real providers are configured; no fake"}, status=409)
    body: Any = await read_json(request)
    to = body.get("to") if isinstance(body, dict) else None
    if not isinstance(to, str) or not is_e164(to):
        return web.json_response(
            {"error": "to: expected an E.164 phone like +79161234567"}, status=422
        )
    fakes.whatsapp.unavailable.add(to.lstrip("+"))
    return web.json_response({"to": to, "whatsapp": "unavailable"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/sandbox/providers/whatsapp/unavailable", whatsapp_unavailable)
