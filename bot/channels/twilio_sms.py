"""Twilio SMS: the webhook (inbound messages and status callbacks, `X-Twilio-Signature`, the
TwiML answer) and sending through the Messages API."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from aiohttp import web

from bot.channels.base import ChannelName, OutboundMessage, SendResult, StatusUpdate
from bot.channels.errors import meaning
from bot.channels.failures import FailureTable, http_failures, maybe_sent, not_sent
from bot.channels.pacing import PacedSender, Pacer, http_failed, post_once
from bot.channels.parsing import (
    ForbiddenWebhook,
    MalformedWebhook,
    Parsed,
    numbered_options,
    shopper_message,
)
from bot.channels.sms_segments import sms_segments
from nlu.rules import is_stop

TWILIO_URL = "https://api.twilio.com"
_STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
_STATUS_MAP["undelivered"] = "failed"

_TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Which failed sends surely were not processed (retried) and which may have been delivered
# (`unknown`, never re-sent). Codes: Twilio's error dictionary.
FAILURES: FailureTable = http_failures(
    {
        "code 20429": not_sent("too many requests"),
        "code 20503": not_sent("service unavailable: the request was not handled"),
        "code 20500": maybe_sent("internal server error: the request may have been processed"),
    }
)


def compute_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's rule: the URL, then each POST name+value sorted by name (then value)."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """Twilio may sign with or without the default port; accept both forms as its library does."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    with_port = parts._replace(netloc=f"{host}:{parts.port or default}")
    without = parts._replace(netloc=host) if parts.port in (None, default) else parts
    return list(dict.fromkeys([url, urlunsplit(with_port), urlunsplit(without)]))


def verify_signature(
    url: str, params: Iterable[tuple[str, str]], header: str | None, auth_token: str
) -> bool:
    if not header or not auth_token:
        return False
    pairs = list(params)
    presented = header.strip().encode()
    if hmac.compare_digest(compute_signature(url, pairs, auth_token).encode(), presented):
        return True  # the URL as configured: the port variants are built only when it fails
    return any(
        hmac.compare_digest(compute_signature(u, pairs, auth_token).encode(), presented)
        for u in _port_variants(url)[1:]
    )


class TwilioSmsChannel(PacedSender):
    """`/webhooks/twilio` (form-encoded, signed over the public URL; answered with empty TwiML)
    and sending through `POST /2010-04-01/Accounts/{sid}/Messages.json`, basic auth."""

    name: ChannelName = "sms"
    webhook = "twilio"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str | None,
        api_url: str = TWILIO_URL,
        pacer: Pacer,
        attempts: int = 4,
        backoff: float = 0.5,
        public_url: str = "",
    ) -> None:
        super().__init__(pacer=pacer, attempts=attempts, backoff=backoff)
        self.http = http
        self.url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.auth_token = auth_token
        self.from_number = from_number
        self.status_callback = status_callback
        self.public_url = public_url  # what Twilio signs: the public URL, then the path

    def challenge(self, query: Mapping[str, str]) -> None:
        return None

    def authenticate(self, body: bytes, headers: Mapping[str, str], path_qs: str) -> Any:
        header = headers.get("X-Twilio-Signature")
        if not header:
            raise ForbiddenWebhook("missing X-Twilio-Signature")
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise MalformedWebhook("body is not form-encoded UTF-8") from None
        url = self.public_url + path_qs
        if not verify_signature(url, pairs, header, self.auth_token):
            raise ForbiddenWebhook("X-Twilio-Signature does not match")
        return dict(pairs)

    def parse(self, payload: Any, now: datetime) -> list[Parsed]:
        return parse_webhook(payload, now)

    def acknowledge(self) -> web.Response:
        return web.Response(text=_TWIML_EMPTY, content_type="text/xml")

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        text = numbered_options(message.text, [b.title for b in message.buttons])
        form = {"To": to, "From": self.from_number, "Body": text}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        segments = sms_segments(text)
        result = await self.paced(to, lambda: self._attempt(form), FAILURES)
        return replace(result, segments=segments)

    async def _attempt(self, form: dict[str, str]) -> SendResult:
        response = await post_once(self.http.post(self.url, data=form, auth=self.auth))
        return response if isinstance(response, SendResult) else interpret(response)


def interpret(response: httpx.Response) -> SendResult:
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    data = data if isinstance(data, dict) else {}
    if response.status_code < 300:
        sid = data.get("sid")
        if not isinstance(sid, str):
            return SendResult("unknown", error_code="bad_response", error_reason="no message sid")
        return SendResult("sent", provider_message_id=sid)
    code = str(data["code"]) if data.get("code") is not None else None
    reason = meaning("sms", code, str(data.get("message") or response.reason_phrase))
    return http_failed(response, FAILURES, code, reason)


def parse_webhook(form: dict[str, str], now: datetime) -> list[Parsed]:
    """An inbound SMS (`Body`) or a status callback (`MessageStatus`) → items."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        raise MalformedWebhook("MessageSid: missing")
    sid = sid[:64]
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if "Body" in form and status in ("", "received", "receiving"):
        sender = form.get("From", "")
        if not sender:
            raise MalformedWebhook("From: missing")
        extra = {"segments": form.get("NumSegments", "")[:4], "to": form.get("To", "")[:20]}
        if is_stop(form["Body"]):  # R-RP1's own list (nlu.rules); the dialogue records the opt-out
            extra["stop"] = "1"
        item = shopper_message(
            "sms", sender[:20], sid, now, text=form["Body"], extra=extra, limit=1600
        )
        return [Parsed(sid, item)]
    mapped = _STATUS_MAP.get(status)
    if mapped is None:
        if not status:
            raise MalformedWebhook("MessageStatus or Body: missing")
        return []  # queued / sending / accepted: nothing to record yet
    code = form.get("ErrorCode") or None
    reason = meaning("sms", code, form.get("ErrorMessage")) if code or mapped == "failed" else None
    update = StatusUpdate("sms", sid, mapped, now, error_code=code, error_reason=reason)  # type: ignore[arg-type]
    return [Parsed(f"{sid}:{mapped}", update)]
