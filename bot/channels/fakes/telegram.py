"""A fake Telegram Bot API at `/bot{token}/{method}`, as python-telegram-bot calls it."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from aiohttp import web

from bot.channels.fakes.base import FakeProvider
from bot.channels.fakes.loopback import Poster
from bot.settings import Settings


def _fail(code: int, description: str, **extra: Any) -> web.Response:
    body = {"ok": False, "error_code": code, "description": description, **extra}
    return web.json_response(body, status=code)


class FakeTelegram(FakeProvider):
    """getMe, sendMessage, answerCallbackQuery, setWebhook; `blocked` chats answer 403."""

    def __init__(self, settings: Settings, poster: Poster) -> None:
        super().__init__(settings, poster)
        self.token = settings.telegram_bot_token
        self.blocked: set[str] = set()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(100_000)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.call)
        return app

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                params[key] = value if isinstance(value, str) else ""
        return params

    async def call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _fail(401, "Unauthorized")
        method = request.match_info["method"].lower()
        params = await self._params(request)
        if method == "getme":
            return self._ok(self.me())
        if method in ("answercallbackquery", "setwebhook", "deletewebhook"):
            return self._ok(True)
        if method == "sendmessage":
            return await self._send(request, params)
        return _fail(404, "Not Found")

    def me(self) -> dict[str, Any]:
        bot_id = int(self.token.split(":", 1)[0]) if self.token.split(":", 1)[0].isdigit() else 1
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Nudge",
            "username": self.settings.telegram_bot_username,
        }

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _send(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        chat = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        if not chat.lstrip("-").isdigit():
            return _fail(400, "Bad Request: chat not found")
        if not text:
            return _fail(400, "Bad Request: message text is empty")
        self.attempts[chat] += 1
        scripted = await self.scripted_answer(chat, request)
        if scripted is not None:
            return scripted
        if chat in self.blocked:
            return _fail(403, "Forbidden: bot was blocked by the user")
        markup = params.get("reply_markup")
        if isinstance(markup, str) and markup:
            markup = json.loads(markup)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private"},
            "from": self.me(),
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        self.sent.append(message)
        return self._ok(message)

    async def post(self, update: dict[str, Any]) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": self.settings.telegram_secret_token,
        }
        return await self.poster.post("/webhooks/telegram", json.dumps(update).encode(), headers)

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Shopper"}

    async def deliver(
        self, chat_id: str, *, text: str | None = None, button: str | None = None
    ) -> int:
        """The shopper writes (or taps an inline button): Telegram posts the Update."""
        chat = int(chat_id)
        update: dict[str, Any] = {"update_id": next(self._update_ids)}
        if button is not None:
            update["callback_query"] = {
                "id": str(next(self._update_ids)),
                "from": self._user(chat),
                "chat_instance": str(chat),
                "data": button,
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "text": "…",
                },
            }
        else:
            update["message"] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Shopper"},
                "from": self._user(chat),
                "text": text or "",
            }
        return await self.post(update)
