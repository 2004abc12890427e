"""A fake Graph API: `POST /{version}/{phone_number_id}/messages`, and signed webhooks back."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.channels.fakes.base import FakeProvider
from bot.channels.fakes.base import Scripted as Scripted  # the tests script answers from here
from bot.channels.fakes.loopback import Poster
from bot.channels.whatsapp import sign
from bot.settings import Settings


@dataclass
class FaultProfile:
    """Random provider faults on sends (benchmarks): shares of requests answered 500 (not
    processed), accepted but answered only after `hang` seconds (the client times out), or
    429 with Retry-After (not processed)."""

    error_500: float = 0.0
    accept_then_hang: float = 0.0
    too_many: float = 0.0
    retry_after: int = 1
    hang: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def pick(self) -> str:
        roll = self.rng.random()
        for name, share in (
            ("500", self.error_500),
            ("hang", self.accept_then_hang),
            ("429", self.too_many),
        ):
            if roll < share:
                return name
            roll -= share
        return ""


def graph_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": base64.b32encode(os.urandom(10)).decode(),
        }
    }


def webhook_body(value: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    """A webhook body around one change `value`, shaped as Meta's payload examples."""
    metadata = {"display_phone_number": "15550000000", "phone_number_id": phone_number_id}
    value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    change = {"value": value, "field": "messages"}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000000", "changes": [change]}],
    }


def shopper_writes(
    wa_id: str, wamid: str, text: str | None, button: tuple[str, str] | None = None, at: int = 0
) -> dict[str, Any]:
    """The change `value` of one shopper message: typed `text`, or a tapped reply `button`
    (id, title); sent at `at` (Unix seconds), now when 0."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(at or int(time.time()))}
    if button is not None:
        reply = {"id": button[0], "title": button[1]}
        message |= {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": reply},
        }
    else:
        message |= {"type": "text", "text": {"body": text or ""}}
    return {"contacts": [{"profile": {"name": "Shopper"}, "wa_id": wa_id}], "messages": [message]}


class FakeWhatsApp(FakeProvider):
    """Accepts sends like the Cloud API; `unavailable` numbers are not on WhatsApp."""

    def __init__(self, settings: Settings, poster: Poster, *, callbacks: bool = True) -> None:
        super().__init__(settings, poster, callbacks=callbacks)
        self.unavailable: set[str] = set()
        self.unavailable_async = False  # report 131026 in a failed status instead of at once
        self.pending: list[dict[str, Any]] = []
        self.flush_interval = 0.05
        self._flusher: asyncio.Task[None] | None = None
        self._seq = 0
        self.faults: FaultProfile | None = None
        self.requests: list[dict[str, Any]] = []  # every send received, kept while `faults` is set

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self.messages)
        return app

    async def messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.settings.whatsapp_token}":
            return web.json_response(graph_error(190, "Invalid OAuth access token."), status=401)
        if request.match_info["phone_number_id"] != self.settings.whatsapp_phone_number_id:
            return web.json_response(graph_error(100, "Unsupported post request."), status=400)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(graph_error(100, "Invalid JSON"), status=400)
        problem = _invalid(body)
        if problem:
            return web.json_response(
                graph_error(131009, "Parameter value is not valid", problem), status=400
            )
        to = str(body["to"]).lstrip("+")
        self.attempts[to] += 1
        fault = self.faults.pick() if self.faults is not None else ""
        if self.faults is not None:
            self.requests.append({"to": to, "type": body.get("type"), "fault": fault,
                                  "at": time.time()})  # fmt: skip
        if fault == "500":
            return web.json_response(graph_error(2, "Service temporarily unavailable"), status=500)
        if fault == "429":
            headers = {"Retry-After": str(self.faults.retry_after if self.faults else 1)}
            error = graph_error(130429, "Rate limit hit")
            return web.json_response(error, status=429, headers=headers)
        scripted = await self.scripted_answer(to, request)
        if scripted is not None:
            return scripted
        if to in self.unavailable and not self.unavailable_async:
            error = graph_error(
                131026, "Message Undeliverable.", "recipient is not a WhatsApp user"
            )
            return web.json_response(error, status=400)
        self._seq += 1
        wamid = (
            "wamid."
            + base64.b64encode(f"nudge-{self._seq}-{os.urandom(6).hex()}".encode()).decode()
        )
        self.sent.append({"id": wamid, "to": to, "body": body})
        if fault == "hang":  # accepted and recorded: only the answer never comes in time
            self.requests[-1]["accepted"] = wamid
            await asyncio.sleep(self.faults.hang if self.faults else 0)
        elif self.faults is not None:
            self.requests[-1]["accepted"] = wamid
        if to in self.unavailable:
            self._queue(wamid, to, "failed", error=131026)
        elif self.callbacks:
            for status in ("sent", "delivered", "read"):
                self._queue(wamid, to, status)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": str(body["to"]), "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _queue(self, wamid: str, to: str, status: str, error: int | None = None) -> None:
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": to,
        }
        if error is not None:
            entry["errors"] = [graph_error(error, "Message undeliverable")["error"]]
            entry["errors"][0]["title"] = "Message undeliverable"
        self.pending.append(entry)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Batched: one webhook carries every status of the last interval, as Meta may do.
        await asyncio.sleep(self.flush_interval)
        while self.pending:
            batch, self.pending = self.pending[:500], self.pending[500:]
            await self.post({"statuses": batch})

    async def post(self, value: dict[str, Any]) -> int:
        body = json.dumps(webhook_body(value, self.settings.whatsapp_phone_number_id)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, self.settings.whatsapp_app_secret),
        }
        return await self.poster.post("/webhooks/whatsapp", body, headers)

    async def deliver(
        self, phone: str, *, text: str | None = None, button: str | None = None, title: str = ""
    ) -> int:
        """The shopper writes or taps a reply button: a signed messages webhook to the service."""
        self._seq += 1
        wamid = (
            "wamid." + base64.b64encode(f"in-{self._seq}-{os.urandom(6).hex()}".encode()).decode()
        )
        tapped = (button, title) if button is not None else None
        return await self.post(shopper_writes(phone.lstrip("+"), wamid, text, tapped))

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()


def _invalid(body: Any) -> str:
    """What the Graph API would reject in this request, or ''."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be 'whatsapp'"
    if not isinstance(body.get("to"), str) or not body["to"].lstrip("+").isdigit():
        return "to must be a phone number"
    kind = body.get("type", "text")
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, dict) or not str(text.get("body") or "").strip():
            return "text.body is required"
    elif kind == "interactive":
        buttons = body.get("interactive", {}).get("action", {}).get("buttons", [])
        if not 1 <= len(buttons) <= 3:
            return "interactive buttons: 1 to 3"
        for button in buttons:
            title = button.get("reply", {}).get("title", "")
            if not title or len(title) > 20:
                return "button title: 1 to 20 characters"
    elif kind == "template":
        if not body.get("template", {}).get("name"):
            return "template.name is required"
    else:
        return f"unsupported type {kind}"
    return ""
