"""`/webhooks/*`: verify over the raw bytes, parse, one durable write, 200 — processing comes after.

Order in every handler: signature (403, nothing stored) → body shape (400, logged masked) →
store → schedule. Secrets are never logged; nothing a provider sends reaches a 500.
"""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot import safejson
from bot.app_keys import CLOCK, METRICS, SETTINGS
from bot.channels import telegram, twilio_sms, whatsapp
from bot.channels.keys import INBOX
from bot.channels.parsing import MalformedWebhook, Parsed
from bot.logmask import mask_text
from bot.metrics import Metrics
from bot.webhooks.telegram_fast import parse_text_update

log = logging.getLogger(__name__)

_TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


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


async def _accept(
    request: web.Request,
    channel: str,
    parse: Callable[[datetime], list[Parsed]],
    started: float,
    ok: Callable[[], web.Response],
) -> web.Response:
    app = request.app
    try:
        items = parse(app[CLOCK].now())
    except MalformedWebhook as exc:
        return _malformed(channel, str(exc))
    except Exception as exc:  # a payload shape the parser did not foresee is still a 400
        return _malformed(channel, f"unreadable payload ({type(exc).__name__})")
    try:
        stored = await app[INBOX].writer.store(channel, items, app[CLOCK].now())
    except Exception:
        log.exception("%s webhook could not be stored; the provider will retry", channel)
        return web.Response(status=503, text="try again")
    app[INBOX].accept(stored)
    _ack_timer(app[METRICS], channel).observe(time.perf_counter() - started)
    return ok()


async def whatsapp_challenge(request: web.Request) -> web.Response:
    """Meta's subscription check: echo `hub.challenge` when the verify token matches."""
    expected = request.app[SETTINGS].whatsapp_verify_token
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if (
        request.query.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return web.Response(text=challenge[:1000])
    return _forbidden("whatsapp", "verification challenge with a wrong token or mode")


async def whatsapp_post(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await request.read()
    secret = request.app[SETTINGS].whatsapp_app_secret
    if not whatsapp.verify_signature(body, request.headers.get("X-Hub-Signature-256"), secret):
        return _forbidden("whatsapp", "missing or wrong X-Hub-Signature-256")
    try:
        payload: Any = safejson.loads(body)
    except ValueError:
        return _malformed("whatsapp", "body is not JSON")
    return await _accept(
        request,
        "whatsapp",
        lambda now: whatsapp.parse_webhook(payload, now),
        started,
        lambda: web.Response(text="ok"),
    )


async def twilio_post(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await request.read()
    header = request.headers.get("X-Twilio-Signature")
    if not header:
        return _forbidden("twilio", "missing X-Twilio-Signature")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return _malformed("twilio", "body is not form-encoded UTF-8")
    settings = request.app[SETTINGS]
    url = settings.public_url + request.path_qs
    if not twilio_sms.verify_signature(url, pairs, header, settings.twilio_auth_token):
        return _forbidden("twilio", "X-Twilio-Signature does not match")
    form = dict(pairs)
    return await _accept(
        request,
        "sms",
        lambda now: twilio_sms.parse_webhook(form, now),
        started,
        lambda: web.Response(text=_TWIML_EMPTY, content_type="text/xml"),
    )


async def telegram_post(request: web.Request) -> web.Response:
    started = time.perf_counter()
    secret = request.app[SETTINGS].telegram_secret_token
    if not telegram.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), secret):
        return _forbidden("telegram", "missing or wrong X-Telegram-Bot-Api-Secret-Token")
    body = await request.read()
    try:
        payload: Any = safejson.loads(body)
    except ValueError:
        return _malformed("telegram", "body is not JSON")
    return await _accept(
        request,
        "telegram",
        lambda now: parse_text_update(payload, now) or telegram.parse_update(payload, now),
        started,
        lambda: web.Response(text="ok"),
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/webhooks/whatsapp", whatsapp_challenge)
    app.router.add_post("/webhooks/whatsapp", whatsapp_post)
    app.router.add_post("/webhooks/twilio", twilio_post)
    app.router.add_post("/webhooks/telegram", telegram_post)
