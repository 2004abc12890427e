"""`/webhooks/{name}`: one route for every provider; the channel named does the provider's part.

Order: the channel authenticates the raw bytes (403, nothing stored) and decodes them (400,
logged masked), parses them into items (400), one durable write (503 if it fails, so the
provider retries), then the channel's acknowledgement; processing comes after, in the inbox.
Secrets are never logged; nothing a provider sends reaches a 500.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from aiohttp import web

from bot.app_keys import CLOCK, INBOX, METRICS, WEBHOOK_CHANNELS
from bot.channels.base import WebhookChannel
from bot.channels.parsing import ForbiddenWebhook, MalformedWebhook
from bot.logmask import mask_text
from bot.metrics import Metrics

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=32)
def _ack_timer(metrics: Metrics, channel: str) -> Any:
    # The labelled child once per app and channel: `labels()` takes a lock and builds a key.
    return metrics.webhook_ack_seconds.labels(channel=channel)


def _forbidden(channel: str, why: str) -> web.Response:
    log.warning("%s webhook rejected: %s", channel, why)
    return web.Response(status=403, text="forbidden")


def _malformed(channel: str, why: str) -> web.Response:
    log.warning("%s webhook malformed: %s", channel, mask_text(why)[:300])
    return web.json_response({"error": why[:300]}, status=400)


def _channel(request: web.Request) -> WebhookChannel:
    channel = request.app[WEBHOOK_CHANNELS].get(request.match_info["name"])
    if channel is None:
        raise web.HTTPNotFound()
    return channel


async def get_webhook(request: web.Request) -> web.Response:
    """A provider's subscription check (WhatsApp's `hub.challenge`)."""
    channel = _channel(request)
    try:
        answer = channel.challenge(request.query)
    except ForbiddenWebhook as exc:
        return _forbidden(channel.webhook, str(exc))
    if answer is None:
        raise web.HTTPMethodNotAllowed(request.method, ["POST"])
    return answer


async def post_webhook(request: web.Request) -> web.Response:
    started = time.perf_counter()
    channel = _channel(request)
    body = await request.read()
    try:
        payload = channel.authenticate(body, request.headers, request.path_qs)
    except ForbiddenWebhook as exc:
        return _forbidden(channel.webhook, str(exc))
    except MalformedWebhook as exc:
        return _malformed(channel.webhook, str(exc))
    app = request.app
    try:
        items = channel.parse(payload, app[CLOCK].now())
    except MalformedWebhook as exc:
        return _malformed(channel.name, str(exc))
    except Exception as exc:  # a payload shape the parser did not foresee is still a 400
        return _malformed(channel.name, f"unreadable payload ({type(exc).__name__})")
    try:
        stored = await app[INBOX].writer.store(channel.name, items, app[CLOCK].now())
    except Exception:
        log.exception("%s webhook could not be stored; the provider will retry", channel.name)
        return web.Response(status=503, text="try again")
    app[INBOX].accept(stored)
    _ack_timer(app[METRICS], channel.name).observe(time.perf_counter() - started)
    return channel.acknowledge()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/webhooks/{name}", get_webhook)
    app.router.add_post("/webhooks/{name}", post_webhook)
