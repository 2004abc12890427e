"""Live updates for the console over server-sent events: no reload, no polling in the browser.

The stream watches a cheap version stamp in the database (so escalations made by any
process show up) and wakes at once when this process changed something.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from aiohttp import web

from bot.app_keys import SESSIONS
from handoff.auth import requires
from handoff.web import views

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0


class LiveHub:
    """Wakes every open stream; `closing` ends them on shutdown."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.closing = False

    def notify(self) -> None:
        self.changed.set()


LIVE = web.AppKey("console_live", LiveHub)


def notify(app: web.Application) -> None:
    hub = app.get(LIVE)
    if hub is not None:
        hub.notify()


@requires("operator")
async def get_stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[LIVE]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    last = ""
    beat = time.monotonic()
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        while not hub.closing:
            async with request.app[SESSIONS]() as session:
                stamp = await views.version(session)
            if stamp != last:
                last = stamp
                data = json.dumps({"v": stamp})
                await response.write(f"event: change\ndata: {data}\n\n".encode())
                beat = time.monotonic()
            elif time.monotonic() - beat > HEARTBEAT_SECONDS:
                await response.write(b": keep-alive\n\n")
                beat = time.monotonic()
            hub.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.changed.wait(), POLL_SECONDS)
    return response


async def _on_shutdown(app: web.Application) -> None:
    hub = app[LIVE]
    hub.closing = True
    hub.notify()


def setup_live(app: web.Application) -> None:
    app[LIVE] = LiveHub()
    app.on_shutdown.append(_on_shutdown)
    app.router.add_get("/console/api/stream", get_stream)
