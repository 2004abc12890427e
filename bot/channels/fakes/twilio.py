"""A fake Twilio Messages API with signed status callbacks and inbound SMS."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.channels.fakes.base import FakeProvider
from bot.channels.fakes.loopback import Poster
from bot.channels.sms_segments import sms_segments
from bot.channels.twilio_sms import compute_signature
from bot.settings import Settings

# Twilio's own opt-out keywords (its Advanced Opt-Out): after one, sends fail with 21610.
TWILIO_STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
TWILIO_START = {"START", "UNSTOP", "YES"}


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio(FakeProvider):
    """`POST /2010-04-01/Accounts/{sid}/Messages.json` with basic auth, answering `SM…` sids."""

    def __init__(self, settings: Settings, poster: Poster, *, callbacks: bool = True) -> None:
        super().__init__(settings, poster, callbacks=callbacks)
        self.account_sid = settings.twilio_account_sid
        self.opted_out: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.messages)
        return app

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(
            f"{self.account_sid}:{self.settings.twilio_auth_token}".encode()
        ).decode()
        sid_ok = request.match_info["sid"] == self.account_sid
        return sid_ok and request.headers.get("Authorization") == f"Basic {expected}"

    async def messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response(twilio_error(20003, "Authenticate", 401), status=401)
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        if not to:
            return web.json_response(
                twilio_error(21604, "A 'To' phone number is required.", 400), status=400
            )
        if not body:
            return web.json_response(
                twilio_error(21602, "Message body is required.", 400), status=400
            )
        self.attempts[to] += 1
        scripted = await self.scripted_answer(to, request)
        if scripted is not None:
            return scripted
        if to in self.opted_out:
            error = twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
            return web.json_response(error, status=400)
        sid = "SM" + os.urandom(16).hex()
        segments = sms_segments(body)
        self.sent.append({"sid": sid, "to": to, "body": body, "segments": segments})
        callback = form.get("StatusCallback")
        if self.callbacks and isinstance(callback, str) and callback:
            task = asyncio.get_running_loop().create_task(self._statuses(callback, sid, to))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": str(form.get("From", "")),
                "body": body,
                "status": "queued",
                "num_segments": str(segments),
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status=201,
        )

    async def _statuses(self, callback: str, sid: str, to: str) -> None:
        await asyncio.sleep(0.05)
        for status in ("sent", "delivered"):
            params = {
                "AccountSid": self.account_sid,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": to,
                "ApiVersion": "2010-04-01",
            }
            await self.post_signed(callback, params)

    async def post_signed(self, url: str, params: dict[str, str]) -> int:
        """Twilio signs the URL it was given plus the sorted POST parameters."""
        signature = compute_signature(url, params.items(), self.settings.twilio_auth_token)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return await self.poster.post(path, urlencode(params).encode(), headers)

    async def deliver(self, phone: str, text: str, to: str = "+15005550006") -> int:
        """The shopper texts the shop's number: Twilio posts the inbound SMS webhook."""
        keyword = text.strip().upper()
        if keyword in TWILIO_STOP:
            self.opted_out.add(phone)
        elif keyword in TWILIO_START:
            self.opted_out.discard(phone)
        sid = "SM" + os.urandom(16).hex()
        params = {
            "AccountSid": self.account_sid,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "From": phone,
            "To": to,
            "Body": text,
            "NumMedia": "0",
            "NumSegments": str(sms_segments(text)),
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        return await self.post_signed(self.settings.public_url + "/webhooks/twilio", params)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
