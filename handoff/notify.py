"""New escalations announced in the operators' Telegram chat (R-OP3), when configured.

A scheduler tick looks for chats escalated since the last look, so escalations made by any
part (dialogue, manual review of failed payments) and any process are announced once here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app_keys import CLOCK, SCHEDULER, SESSIONS, SETTINGS
from bot.logmask import mask_phone
from bot.store.models import Contact, Conversation
from handoff.queue import REASONS

log = logging.getLogger(__name__)


class EscalationNotifier:
    """Sends one line per new escalation: reason, first name, masked phone, console link."""

    def __init__(self, app: web.Application, bot: Any, chat_id: str) -> None:
        self.app = app
        self.bot = bot
        self.chat_id = chat_id
        self.since: datetime = app[CLOCK].now()
        self.sent: set[tuple[int, datetime]] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def tick(self, now: datetime) -> None:
        async with self.app[SESSIONS]() as session:
            rows = (
                await session.execute(
                    select(Conversation, Contact)
                    .join(Contact, Contact.id == Conversation.contact_id)
                    .where(
                        Conversation.state == "waiting_operator",
                        Conversation.escalated_at >= self.since,
                    )
                    .order_by(Conversation.escalated_at)
                )
            ).all()
        for conversation, contact in rows:
            key = (conversation.id, conversation.escalated_at)
            if key in self.sent or conversation.escalated_at is None:
                continue
            self.sent.add(key)
            # Sent in the background: a slow Telegram must not hold up the scheduler's tick.
            task = asyncio.create_task(self._send(self.text(conversation, contact)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            self.since = max(self.since, conversation.escalated_at)

    async def _send(self, text: str) -> None:
        try:
            await self.bot.send_message(chat_id=self.chat_id, text=text)
        except Exception as exc:  # a notification must never break the queue
            log.warning("operators' Telegram notification failed: %s", type(exc).__name__)

    async def drain(self) -> None:
        """Wait for notifications under way (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def text(self, conversation: Conversation, contact: Contact) -> str:
        reason = conversation.handoff_reason or ""
        who = " ".join(
            p for p in (contact.first_name or "", mask_phone(contact.phone), "") if p
        ).strip()
        url = f"{self.app[SETTINGS].public_url}/console"
        return (
            f"New chat waiting: {REASONS.get(reason, reason)} — {who or 'a shopper'} "
            f"via {conversation.last_channel or 'unknown channel'}. {url}"
        )


NOTIFIER = web.AppKey("escalation_notifier", EscalationNotifier)


def setup_notifications(app: web.Application) -> None:
    settings = app[SETTINGS]
    if not (settings.telegram_operators_chat_id and settings.telegram_bot_token):
        return
    from telegram import Bot

    base = (settings.telegram_api_url or "https://api.telegram.org").rstrip("/")
    bot = Bot(settings.telegram_bot_token, base_url=f"{base}/bot")
    notifier = EscalationNotifier(app, bot, settings.telegram_operators_chat_id)
    app[NOTIFIER] = notifier
    app[SCHEDULER].add_tick("handoff-notify", notifier.tick)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        await notifier.drain()
        await bot.shutdown()

    app.cleanup_ctx.append(lifecycle)
