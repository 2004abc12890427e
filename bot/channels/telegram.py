"""Telegram through python-telegram-bot: sending with inline keyboards, parsing webhook updates."""

from __future__ import annotations

import asyncio
import hmac
from datetime import datetime, timedelta
from typing import Any

import httpx
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

from bot.channels.base import ChannelName, InboundMessage, OutboundMessage, SendResult
from bot.channels.errors import meaning
from bot.channels.failures import FailureTable, Fate, Row
from bot.channels.pacing import Pacer, with_retries
from bot.channels.parsing import MalformedWebhook, Parsed, shopper_message

TELEGRAM_URL = "https://api.telegram.org"
MAX_CALLBACK_BYTES = 64

# Which failed sends surely were not processed (retried) and which may have been delivered
# (`unknown`, never re-sent), by python-telegram-bot's exception and what caused it.
FAILURES: FailureTable = {
    "RetryAfter": Row(Fate.NOT_SENT, "flood control: Telegram refused the request"),
    "TimedOut: no connection": Row(Fate.NOT_SENT, "connect or pool timeout: nothing was sent"),
    "NetworkError: no connection": Row(Fate.NOT_SENT, "refused or DNS failure: nothing was sent"),
    "TimedOut": Row(Fate.MAYBE_SENT, "the request was written; no answer in time"),
    "NetworkError": Row(Fate.MAYBE_SENT, "dropped after writing, bad gateway or a 5xx"),
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


class TelegramClient:
    """`sendMessage` with an inline keyboard; errors mapped onto SendResult."""

    name: ChannelName = "telegram"

    def __init__(self, bot: Bot, *, pacer: Pacer, attempts: int = 4, backoff: float = 0.5) -> None:
        self.bot = bot
        self.pacer = pacer
        self.attempts = attempts
        self.backoff = backoff
        self._ready = asyncio.Lock()
        self._initialized = False

    async def _ensure(self) -> None:
        if not self._initialized:
            async with self._ready:
                if not self._initialized:
                    await self.bot.initialize()
                    self._initialized = True

    async def close(self) -> None:
        if self._initialized:
            await self.bot.shutdown()

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        return await with_retries(
            lambda: self._attempt(to, message),
            FAILURES,
            attempts=self.attempts,
            base=self.backoff,
            before=lambda: self.pacer.wait(to),
        )

    async def _attempt(self, to: str, message: OutboundMessage) -> SendResult:
        try:
            await self._ensure()
            sent = await self.bot.send_message(
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
            await self._ensure()
            await self.bot.answer_callback_query(callback_id)
        except TelegramError:
            pass


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
        item = InboundMessage(
            "telegram",
            str(chat),
            key,
            now,
            text=None,
            button_payload=(query.data or "")[:64],
            extra=extra,
        )
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
