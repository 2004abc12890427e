"""WhatsApp Cloud API: the webhook (challenge, signature, payloads, answer) and sending."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from aiohttp import web

from bot.channels.base import ChannelName, OutboundMessage, SendResult, StatusUpdate
from bot.channels.errors import meaning
from bot.channels.failures import FailureTable, http_failures, not_sent
from bot.channels.pacing import PacedSender, Pacer, http_failed, post_once
from bot.channels.parsing import (
    ForbiddenWebhook,
    MalformedWebhook,
    Parsed,
    json_body,
    numbered_options,
    require,
    shopper_message,
    text_field,
)

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
MAX_BUTTONS = 3
MAX_TITLE = 20
MAX_INTERACTIVE_BODY = 1024
_STATUSES = {"sent", "delivered", "read", "failed"}

# Which failed sends surely were not processed (retried) and which may have been delivered
# (`unknown`, never re-sent). Codes: Meta's Cloud API error codes.
FAILURES: FailureTable = http_failures(
    {
        "code 4": not_sent("application request limit reached"),
        "code 80007": not_sent("WhatsApp Business Account rate limit"),
        "code 130429": not_sent("Cloud API throughput rate limit hit"),
        "code 131048": not_sent("spam rate limit hit: message failed to send"),
        "code 131056": not_sent("business/consumer pair rate limit hit"),
        "code 2": not_sent("API service temporarily down or overloaded"),
        "code 131000": not_sent("something went wrong: message failed to send"),
        "code 131016": not_sent("service temporarily unavailable"),
        "code 133004": not_sent("server temporarily unavailable"),
    }
)


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header value Meta sends for this raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Constant-time check of the header against the HMAC-SHA256 of the raw bytes."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode())


def wa_to(phone: str) -> str:
    """Graph API recipients are digits only (wa_id form)."""
    return phone.lstrip("+")


def short_title(title: str) -> str:
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def request_body(to: str, message: OutboundMessage) -> dict[str, Any]:
    """The Graph API JSON for a text, reply-button or template message."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_to(to),
    }
    if message.template:
        components: list[dict[str, Any]] = []
        if message.template_params:
            params = [{"type": "text", "text": p} for p in message.template_params]
            components.append({"type": "body", "parameters": params})
        for index, button in enumerate(message.buttons[:MAX_BUTTONS]):
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": button.payload}],
                }
            )
        template: dict[str, Any] = {
            "name": message.template,
            "language": {"code": message.language},
        }
        if components:
            template["components"] = components
        body.update(type="template", template=template)
    elif (
        message.buttons
        and len(message.buttons) <= MAX_BUTTONS
        and (len(message.text) <= MAX_INTERACTIVE_BODY)
    ):
        buttons = [
            {"type": "reply", "reply": {"id": b.payload[:256], "title": short_title(b.title)}}
            for b in message.buttons
        ]
        body.update(
            type="interactive",
            interactive={
                "type": "button",
                "body": {"text": message.text},
                "action": {"buttons": buttons},
            },
        )
    else:
        text = numbered_options(message.text, [b.title for b in message.buttons])
        body.update(type="text", text={"preview_url": False, "body": text[:4096]})
    return body


class WhatsAppChannel(PacedSender):
    """`/webhooks/whatsapp` (Meta's challenge, `X-Hub-Signature-256`, the payloads, the answer)
    and sending through `POST /{version}/{phone_number_id}/messages` with the page token."""

    name: ChannelName = "whatsapp"
    webhook = "whatsapp"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        phone_number_id: str,
        api_url: str = GRAPH_URL,
        pacer: Pacer,
        attempts: int = 4,
        backoff: float = 0.5,
        app_secret: str = "",
        verify_token: str = "",
    ) -> None:
        super().__init__(pacer=pacer, attempts=attempts, backoff=backoff)
        self.http = http
        self.url = f"{api_url.rstrip('/')}/{GRAPH_VERSION}/{phone_number_id}/messages"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.app_secret = app_secret
        self.verify_token = verify_token

    def challenge(self, query: Mapping[str, str]) -> web.Response:
        """Meta's subscription check: echo `hub.challenge` when the verify token matches."""
        token = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") == "subscribe"
            and self.verify_token
            and hmac.compare_digest(token.encode(), self.verify_token.encode())
        ):
            return web.Response(text=query.get("hub.challenge", "")[:1000])
        raise ForbiddenWebhook("verification challenge with a wrong token or mode")

    def authenticate(self, body: bytes, headers: Mapping[str, str], path_qs: str) -> Any:
        if not verify_signature(body, headers.get("X-Hub-Signature-256"), self.app_secret):
            raise ForbiddenWebhook("missing or wrong X-Hub-Signature-256")
        return json_body(body)

    def parse(self, payload: Any, now: datetime) -> list[Parsed]:
        return parse_webhook(payload, now)

    def acknowledge(self) -> web.Response:
        return web.Response(text="ok")

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        body = request_body(to, message)
        return await self.paced(to, lambda: self._attempt(body), FAILURES)

    async def _attempt(self, body: dict[str, Any]) -> SendResult:
        response = await post_once(self.http.post(self.url, json=body, headers=self.headers))
        return response if isinstance(response, SendResult) else interpret(response)


def interpret(response: httpx.Response) -> SendResult:
    """Turn a Graph API answer into a SendResult: sent, no_account, or a failure named by its
    row in FAILURES (none: final)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code < 300 and isinstance(data, dict):
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return SendResult("sent", provider_message_id=str(messages[0].get("id")))
        return SendResult("unknown", error_code="bad_response", error_reason="no message id")
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code")) if error.get("code") is not None else None
    detail = (
        error.get("error_data", {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else None
    )
    reason = meaning(
        "whatsapp", code, str(detail or error.get("message") or response.reason_phrase)
    )
    if code == "131026":
        return SendResult("no_account", error_code=code, error_reason=reason)
    return http_failed(response, FAILURES, code, reason)


def _message(raw: dict[str, Any], now: datetime, where: str) -> Parsed:
    wamid = text_field(raw.get("id"), f"{where}.id", 160)
    sender = text_field(raw.get("from"), f"{where}.from", 20)
    kind = raw.get("type")
    text: str | None = None
    button: str | None = None
    extra = {"type": str(kind)[:32]}
    if kind == "text":
        body = require(raw.get("text"), dict, f"{where}.text")
        text = require(body.get("body"), str, f"{where}.text.body")
    elif kind == "interactive":
        interactive = require(raw.get("interactive"), dict, f"{where}.interactive")
        reply = interactive.get("button_reply") or interactive.get("list_reply")
        reply = require(reply, dict, f"{where}.interactive.button_reply")
        button = text_field(reply.get("id"), f"{where}.interactive.button_reply.id", 256)
        extra["button_title"] = text_field(reply.get("title", ""), f"{where}.title", 100)
    elif kind == "button":  # a template's quick reply
        tapped = require(raw.get("button"), dict, f"{where}.button")
        button = text_field(tapped.get("payload"), f"{where}.button.payload", 256)
        extra["button_title"] = text_field(tapped.get("text", ""), f"{where}.button.text", 100)
    if isinstance(raw.get("timestamp"), str):
        extra["provider_ts"] = raw["timestamp"][:20]
    address = "+" + sender.lstrip("+")
    item = shopper_message(
        "whatsapp", address, wamid, now, text=text, button_payload=button, extra=extra
    )
    return Parsed(wamid, item)


def _status(raw: dict[str, Any], now: datetime, where: str) -> Parsed | None:
    wamid = text_field(raw.get("id"), f"{where}.id", 160)
    status = text_field(raw.get("status"), f"{where}.status", 32)
    if status not in _STATUSES:
        return None  # e.g. "deleted" or "warning": nothing to record
    code = reason = None
    errors = raw.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = str(first.get("code"))[:16] if first.get("code") is not None else None
        detail = (
            first.get("error_data", {}).get("details")
            if isinstance(first.get("error_data"), dict)
            else None
        )
        reason = meaning(
            "whatsapp", code, str(detail or first.get("title") or first.get("message") or "")
        )
    item = StatusUpdate("whatsapp", wamid, status, now, error_code=code, error_reason=reason)  # type: ignore[arg-type]
    return Parsed(f"{wamid}:{status}", item)


def parse_webhook(payload: Any, now: datetime) -> list[Parsed]:
    """Every message and status in a `whatsapp_business_account` webhook body."""
    payload = require(payload, dict, "body")
    if payload.get("object") != "whatsapp_business_account":
        raise MalformedWebhook("object: expected 'whatsapp_business_account'")
    items: list[Parsed] = []
    for e, entry in enumerate(require(payload.get("entry"), list, "entry")):
        changes = require(
            require(entry, dict, f"entry[{e}]").get("changes"), list, f"entry[{e}].changes"
        )
        for c, change in enumerate(changes):
            where = f"entry[{e}].changes[{c}].value"
            value = require(
                require(change, dict, f"entry[{e}].changes[{c}]").get("value"), dict, where
            )
            for m, raw in enumerate(require(value.get("messages", []), list, f"{where}.messages")):
                items.append(
                    _message(
                        require(raw, dict, f"{where}.messages[{m}]"), now, f"{where}.messages[{m}]"
                    )
                )
            for s, raw in enumerate(require(value.get("statuses", []), list, f"{where}.statuses")):
                parsed = _status(
                    require(raw, dict, f"{where}.statuses[{s}]"), now, f"{where}.statuses[{s}]"
                )
                if parsed is not None:
                    items.append(parsed)
            for error in value.get("errors", []) if isinstance(value.get("errors"), list) else []:
                log.warning("whatsapp reported a system error: %s", str(error)[:200])
    return items
