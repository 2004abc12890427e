"""Telegram through python-telegram-bot: the webhook (secret-token header, updates, answer) and
sending with inline keyboards.

The common update, a private text message, is read straight from the JSON: python-telegram-bot's
`Update.de_json` sets every one of a Message's ~200 attributes and costs several hundred
microseconds per update, most of the acknowledgement's CPU. `parse_text_update` recognises it
only when every key is one it checks with the types Telegram documents; anything else (buttons,
media, edits, odd values) goes to `parse_update`, so both give the same result
(tests/test_webhooks_telegram_fast.py).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.base import ChannelName, OutboundMessage, SendResult
from bot.channels.errors import meaning
from bot.channels.failures import FailureTable, maybe_sent, not_sent
from bot.channels.pacing import PacedSender
from bot.channels.parsing import (
    ForbiddenWebhook,
    MalformedWebhook,
    Parsed,
    json_body,
    shopper_message,
)

TELEGRAM_URL = "https://api.telegram.org"
MAX_CALLBACK_BYTES = 64

# Which failed sends surely were not processed (retried) and which may have been delivered
# (`unknown`, never re-sent), by python-telegram-bot's exception and what caused it.
FAILURES: FailureTable = {
    "RetryAfter": not_sent("flood control: Telegram refused the request"),
    "TimedOut: no connection": not_sent("connect or pool timeout: nothing was sent"),
    "NetworkError: no connection": not_sent("refused or DNS failure: nothing was sent"),
    "TimedOut": maybe_sent("the request was written; no answer in time"),
    "NetworkError": maybe_sent("dropped after writing, bad gateway or a 5xx"),
}
_NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def verify_secret(header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(header.encode(), secret.encode())


def make_bot(token: str, api_url: str = TELEGRAM_URL, timeout: float = 10.0) -> Bot:
    """A Bot whose every call goes to `<api_url>/bot<token>/<method>` (the fake in sandbox)."""
    request = HTTPXRequest(connection_pool_size=64, read_timeout=timeout, write_timeout=timeout)
    return Bot(token, base_url=f"{api_url.rstrip('/')}/bot", request=request)


def keyboard(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = []
    for button in message.buttons:
        data = button.payload.encode()[:MAX_CALLBACK_BYTES].decode(errors="ignore")
        rows.append([InlineKeyboardButton(button.title, callback_data=data)])
    return InlineKeyboardMarkup(rows)


def _seconds(exc: RetryAfter) -> float:
    value: Any = getattr(exc, "_retry_after", None)
    return value.total_seconds() if isinstance(value, timedelta) else float(value or 1)


@dataclass(eq=False)
class TelegramChannel(PacedSender):
    """`/webhooks/telegram` (`X-Telegram-Bot-Api-Secret-Token`, updates, "ok") and `sendMessage`
    with an inline keyboard, errors mapped onto SendResult. Without a bot token (`bot` None) it
    only receives."""

    bot: Bot | None
    _: KW_ONLY
    secret_token: str = ""
    name: ChannelName = field(default="telegram", init=False)
    webhook = "telegram"
    _ready: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _initialized: bool = field(default=False, init=False, repr=False)

    def challenge(self, query: Mapping[str, str]) -> None:
        return None

    def authenticate(self, body: bytes, headers: Mapping[str, str], path_qs: str) -> Any:
        header = headers.get("X-Telegram-Bot-Api-Secret-Token")
        if not verify_secret(header, self.secret_token):
            raise ForbiddenWebhook("missing or wrong X-Telegram-Bot-Api-Secret-Token")
        return json_body(body)

    def parse(self, payload: Any, now: datetime) -> list[Parsed]:
        return parse_text_update(payload, now) or parse_update(payload, now)

    def acknowledge(self) -> web.Response:
        return web.Response(text="ok")

    async def _ensure(self) -> Bot:
        if self.bot is None:
            raise InvalidToken("no Telegram bot token is configured")
        if not self._initialized:
            async with self._ready:
                if not self._initialized:
                    await self.bot.initialize()
                    self._initialized = True
        return self.bot

    async def close(self) -> None:
        if self._initialized and self.bot is not None:
            await self.bot.shutdown()

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        return await self.paced(to, lambda: self._attempt(to, message), FAILURES)

    async def _attempt(self, to: str, message: OutboundMessage) -> SendResult:
        try:
            bot = await self._ensure()
            sent = await bot.send_message(
                chat_id=to, text=message.text[:4096], reply_markup=keyboard(message)
            )
        except RetryAfter as exc:
            return SendResult(
                "failed",
                error_code="429",
                error_reason="flood control",
                retry_after=_seconds(exc),
                failure="RetryAfter",
            )
        except NetworkError as exc:  # TimedOut is one too
            kind = "TimedOut" if isinstance(exc, TimedOut) else "NetworkError"
            pool = isinstance(exc, TimedOut) and "pool" in exc.message.lower()
            if pool or isinstance(exc.__cause__, _NOT_CONNECTED):
                kind += ": no connection"
            code = "timeout" if isinstance(exc, TimedOut) else "network"
            reason = exc.message[:200]
            return SendResult("failed", error_code=code, error_reason=reason, failure=kind)
        except Forbidden:
            return SendResult(
                "failed", error_code="blocked", error_reason=meaning("telegram", "blocked")
            )
        except BadRequest as exc:
            code = "chat_not_found" if "chat not found" in exc.message.lower() else "bad_request"
            return SendResult(
                "failed", error_code=code, error_reason=meaning("telegram", code, exc.message)
            )
        except InvalidToken:
            return SendResult(
                "failed",
                error_code="unauthorized",
                error_reason=meaning("telegram", "unauthorized"),
            )
        except TelegramError as exc:  # e.g. Conflict: Telegram answered and refused
            return SendResult("failed", error_code="telegram", error_reason=exc.message[:200])
        return SendResult("sent", provider_message_id=f"{sent.chat.id}:{sent.message_id}")

    async def answer_button(self, callback_id: str) -> None:
        """Stops the spinner on the tapped button; best effort."""
        try:
            bot = await self._ensure()
            await bot.answer_callback_query(callback_id)
        except TelegramError:
            pass


_MESSAGE_KEYS = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_ENTITY_KEYS = frozenset({"type", "offset", "length"})
_SCALARS = (str, int, bool)
_USER: dict[str, type] = {"id": int, "is_bot": bool, "first_name": str}


def _int(value: Any) -> bool:
    return type(value) is int


def _flat(value: Any, required: dict[str, type]) -> bool:
    """A dict of scalars whose required keys have the given exact types (User, Chat)."""
    if type(value) is not dict:
        return False
    if any(type(value.get(k)) is not t for k, t in required.items()):
        return False
    return all(v is None or type(v) in _SCALARS for v in value.values())


def _entities(value: Any) -> bool:
    return type(value) is list and all(
        type(e) is dict
        and e.keys() == _ENTITY_KEYS
        and type(e["type"]) is str
        and _int(e["offset"])
        and _int(e["length"])
        for e in value
    )


def parse_text_update(data: Any, now: datetime) -> list[Parsed] | None:
    """The parsed text message, or None when the update is not the plain shape read here."""
    if type(data) is not dict or data.keys() != {"update_id", "message"}:
        return None
    key, message = data["update_id"], data["message"]
    if not _int(key) or type(message) is not dict or not message.keys() <= _MESSAGE_KEYS:
        return None
    chat: Any = message.get("chat")
    text: Any = message.get("text")
    date: Any = message.get("date")
    if not (
        _int(message.get("message_id"))
        and _int(date)
        and 0 < date < 2**31
        and type(text) is str
        and _flat(chat, {"id": int, "type": str})
        and ("from" not in message or _flat(message["from"], _USER))
        and ("entities" not in message or _entities(message["entities"]))
    ):
        return None
    extra = {"message_id": str(message["message_id"])}
    if text == "/start" or text.startswith("/start "):
        extra["start_token"] = text[len("/start") :].strip()[:64]
    update_id = str(key)
    item = shopper_message("telegram", str(chat["id"]), update_id, now, text=text, extra=extra)
    return [Parsed(update_id, item)]


def parse_update(data: Any, now: datetime) -> list[Parsed]:
    """A webhook Update → an inbound text, a `/start <token>` or a button tap."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise MalformedWebhook("update_id: expected an integer")
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedWebhook(f"not a Telegram Update: {type(exc).__name__}") from exc
    key = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        extra = {"callback_id": str(query.id)[:64]}
        payload = (query.data or "")[:64]
        item = shopper_message("telegram", str(chat), key, now, button_payload=payload, extra=extra)
        return [Parsed(key, item)]
    message = update.message
    if message is None:
        return []  # edits, channel posts, polls: nothing for the dialogue
    text = message.text
    extra = {"message_id": str(message.message_id)}
    if text and (text == "/start" or text.startswith("/start ")):
        extra["start_token"] = text[len("/start") :].strip()[:64]
    item = shopper_message("telegram", str(message.chat.id), key, now, text=text, extra=extra)
    return [Parsed(key, item)]
