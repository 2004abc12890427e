"""Sending messages: record them first, then hand them to the channel, then record outcomes.

The row is written before the provider is called, so a crash mid-send leaves a `sending`
row that start-up marks `unknown` instead of sending again (R-SR9). `send_many` does the
same for a batch with one INSERT and one UPDATE instead of two writes per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
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
class SendItem:
    """One message of a `send_many` batch."""

    contact: Contact
    channel: ChannelName
    message: OutboundMessage
    touch_id: int | None = None
    author: str = "bot"


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

    def _row(self, item: SendItem) -> Message:
        message = item.message
        return Message(
            contact_id=item.contact.id,
            direction="out",
            channel=item.channel,
            address=address_for(item.contact, item.channel),
            text=message.text,
            buttons=buttons_json(message),
            template=message.template,
            touch_id=item.touch_id,
            author=item.author,
            status="sending",
            created_at=self.clock.now(),
        )

    async def _call(
        self, channel: ChannelName, address: str | None, message: OutboundMessage
    ) -> SendResult:
        """The provider call; never raises, so the attempt is always recorded."""
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
        return result

    def _outcome(self, message_id: int, result: SendResult) -> dict[str, Any]:
        return {
            "id": message_id,
            "status": _STATUS[result.outcome],
            "provider_message_id": result.provider_message_id,
            "error_code": result.error_code,
            "error_reason": result.error_reason,
            "segments": result.segments,
            "status_at": self.clock.now(),
        }

    def _log(
        self, message_id: int, channel: ChannelName, address: str | None, outcome: str
    ) -> None:
        log.info(
            "sent %s to %s via %s: %s",
            f"message {message_id}",
            mask_phone(address) if channel != "telegram" else "telegram chat",
            channel,
            outcome,
        )

    async def send(
        self,
        contact: Contact,
        channel: ChannelName,
        message: OutboundMessage,
        *,
        touch_id: int | None = None,
        author: str = "bot",
    ) -> Sent:
        row = self._row(SendItem(contact, channel, message, touch_id, author))

        async def record(session: AsyncSession) -> int:
            session.add(row)
            await session.flush()
            return int(row.id)

        message_id = await self.writes.run(record)  # durable before the provider is called
        result = await self._call(channel, row.address, message)
        outcome = (
            update(Message)
            .where(Message.id == message_id)
            .values(**{k: v for k, v in self._outcome(message_id, result).items() if k != "id"})
        )

        async def settle(session: AsyncSession) -> None:
            await session.execute(outcome)

        await self.writes.run(settle)
        self._log(message_id, channel, row.address, result.outcome)
        return Sent(message_id, result)

    async def send_many(self, items: Sequence[SendItem], concurrency: int = 64) -> list[Sent]:
        """Send a batch: all rows committed `sending` in one transaction before any provider
        call (R-SR9), the calls made concurrently, all outcomes recorded in one UPDATE.
        Results are in the order of `items`."""
        if not items:
            return []
        rows = [self._row(item) for item in items]
        async with self._lock(), self.sessions.begin() as session:
            session.add_all(rows)  # one multi-row INSERT … RETURNING id
            await session.flush()
            ids = [int(row.id) for row in rows]
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(item: SendItem, address: str | None) -> SendResult:
            async with gate:
                return await self._call(item.channel, address, item.message)

        results = await asyncio.gather(
            *(one(item, row.address) for item, row in zip(items, rows, strict=True))
        )
        outcomes = [self._outcome(i, r) for i, r in zip(ids, results, strict=True)]
        async with self._lock(), self.sessions.begin() as session:
            await session.execute(update(Message), outcomes)  # executemany by primary key
        for item, row, message_id, result in zip(items, rows, ids, results, strict=True):
            self._log(message_id, item.channel, row.address, result.outcome)
        return [Sent(i, r) for i, r in zip(ids, results, strict=True)]


_STATUS = {"sent": "sent", "failed": "failed", "unknown": "unknown", "no_account": "failed"}
