"""Wiring of issue 5 (channels): provider clients, app[OUTBOUND], webhooks, fake providers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.app_keys import CLOCK, METRICS, OUTBOUND, SESSIONS
from bot.channels.recording import RecordingClient
from bot.outbound import Outbound


async def _outbound(app: web.Application) -> AsyncIterator[None]:
    clients = {name: RecordingClient(name) for name in ("whatsapp", "sms", "telegram")}
    app[OUTBOUND] = Outbound(app[SESSIONS], app[CLOCK], clients, app[METRICS])
    yield


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    app.cleanup_ctx.append(_outbound)
