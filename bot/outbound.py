"""Sending one message: record it first, then hand it to the channel, then record the outcome.

The row is written before the provider is called, so a crash mid-send leaves a `sending`
row that start-up marks `unknown` instead of sending again (R-SR9).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.channels.base import ChannelClient, ChannelName, OutboundMessage, SendResult
from bot.channels.group_commit import GroupCommit
from bot.channels.write_lock import write_lock
from bot.clock import Clock
from bot.logmask import mask_phone
from bot.metrics import Metrics
from bot.store.db import SessionFactory
from bot.store.models import Contact, Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    message_id: int
    result: SendResult


def address_for(contact: Contact, channel: ChannelName) -> str | None:
    """Where this contact is reached on a channel, or None when unknown."""
    if channel == "telegram":
        return contact.telegram_chat_id
    return contact.phone


def buttons_json(message: OutboundMessage) -> dict[str, Any] | None:
    if not message.buttons:
        return None
    return {"items": [{"payload": b.payload, "title": b.title} for b in message.buttons]}


class Outbound:
    """The single door through which the bot and operators send to shoppers."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        clients: Mapping[str, ChannelClient],
        metrics: Metrics,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.clients = dict(clients)
        self.metrics = metrics
        bind = sessions.kw.get("bind")
        self.engine: AsyncEngine | None = bind if isinstance(bind, AsyncEngine) else None
        # Concurrent sends share commits: two small writes per send would otherwise cap
        # SQLite at a few dozen sends per second.
        self.writes = GroupCommit(sessions)

    def _lock(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return write_lock(self.engine) if self.engine is not None else contextlib.nullcontext()

    async def flag_interrupted(self, older_than: timedelta = timedelta(minutes=15)) -> int:
        """Rows left `sending` by a crash become `unknown`: flagged, never re-sent (R-SR9).
        Only old ones, so a send in flight on another instance is left alone."""
        cutoff = self.clock.now() - older_than
        async with self._lock(), self.sessions.begin() as session:
            result = await session.execute(
                update(Message)
                .where(
                    Message.direction == "out",
                    Message.status == "sending",
                    Message.created_at < cutoff,
                )
                .values(status="unknown", error_reason="interrupted before the provider answered")
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def send(
        self,
        contact: Contact,
        channel: ChannelName,
        message: OutboundMessage,
        *,
        touch_id: int | None = None,
        author: str = "bot",
    ) -> Sent:
        address = address_for(contact, channel)
        now = self.clock.now()
        row = Message(
            contact_id=contact.id,
            direction="out",
            channel=channel,
            address=address,
            text=message.text,
            buttons=buttons_json(message),
            template=message.template,
            touch_id=touch_id,
            author=author,
            status="sending",
            created_at=now,
        )

        async def record(session: AsyncSession) -> int:
            session.add(row)
            await session.flush()
            return int(row.id)

        message_id = await self.writes.run(record)  # durable before the provider is called
        client = self.clients.get(channel)
        started = time.perf_counter()
        if address is None or client is None:
            reason = "no address for this channel" if address is None else "channel not set up"
            result = SendResult("failed", error_code="no_route", error_reason=reason)
        else:
            try:
                result = await client.send(address, message)
            except Exception:  # a provider bug must not lose the record of the attempt
                log.exception("send through %s failed unexpectedly", channel)
                result = SendResult("unknown", error_reason="client error")
        self.metrics.send_seconds.labels(channel=channel).observe(time.perf_counter() - started)
        self.metrics.messages_total.labels(direction="out", channel=channel).inc()
        status = {"sent": "sent", "failed": "failed", "unknown": "unknown", "no_account": "failed"}[
            result.outcome
        ]
        outcome = (
            update(Message)
            .where(Message.id == message_id)
            .values(
                status=status,
                provider_message_id=result.provider_message_id,
                error_code=result.error_code,
                error_reason=result.error_reason,
                segments=result.segments,
                status_at=self.clock.now(),
            )
        )

        async def settle(session: AsyncSession) -> None:
            await session.execute(outcome)

        await self.writes.run(settle)
        log.info(
            "sent %s to %s via %s: %s",
            f"message {message_id}",
            mask_phone(address) if channel != "telegram" else "telegram chat",
            channel,
            result.outcome,
        )
        return Sent(message_id, result)
