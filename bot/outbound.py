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
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import ChannelClient, ChannelName, OutboundMessage, SendResult
from bot.clock import Clock
from bot.logmask import mask_phone
from bot.metrics import Metrics
from bot.store.bulk import update_rows
from bot.store.db import SessionFactory
from bot.store.group_commit import TransactionWrites
from bot.store.models import Contact, Message
from bot.store.write_lock import write_lock_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendItem:
    """One message of a `send_many` batch."""

    contact: Contact
    channel: ChannelName
    message: OutboundMessage
    author: str = "bot"
    touch_id: int | None = None


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
        # Concurrent sends share commits: two small writes per send would otherwise cap
        # SQLite at a few dozen sends per second.
        self.writes = TransactionWrites(sessions)
        self._meters: dict[str, tuple[Any, Any]] = {}  # per channel: labels() costs per call

    def _lock(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return write_lock_for(self.sessions)

    async def flag_interrupted(
        self,
        older_than: timedelta = timedelta(minutes=15),
        message_ids: Sequence[int] = (),
    ) -> int:
        """Rows left `sending` become `unknown`: flagged, never re-sent (R-SR9). Those given
        by id (their sender is gone), else only rows older than any send can take, so a send
        in flight is left alone."""
        which = (
            Message.id.in_(list(message_ids))
            if message_ids
            else Message.created_at < self.clock.now() - older_than
        )
        async with self._lock(), self.sessions.begin() as session:
            result = await session.execute(
                update(Message)
                .where(Message.status == "sending", which, Message.direction == "out")
                .values(status="unknown", error_reason="interrupted before the provider answered")
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def _row(self, item: SendItem) -> Message:
        return Message(**self.sending_row(item))

    def sending_row(self, item: SendItem) -> dict[str, Any]:
        """The `messages` row of a send about to be made, as plain values."""
        message = item.message
        return {
            "contact_id": item.contact.id,
            "direction": "out",
            "channel": item.channel,
            "address": address_for(item.contact, item.channel),
            "text": message.text,
            "buttons": buttons_json(message),
            "template": message.template,
            "touch_id": item.touch_id,
            "author": item.author,
            "status": "sending",
            "created_at": self.clock.now(),
        }

    async def insert_sending(self, session: AsyncSession, items: Sequence[SendItem]) -> list[int]:
        """Add the batch's rows, status `sending`, to the caller's transaction; their ids in
        the order of `items`. The caller commits before any `call_many` (R-SR9)."""
        if not items:
            return []
        rows = [self.sending_row(item) for item in items]
        result = await session.execute(_INSERT_SENDING, rows)
        return [int(i) for i in result.scalars().all()]

    async def call_many(self, items: Sequence[SendItem], concurrency: int = 64) -> list[SendResult]:
        """The provider calls of a batch whose rows are committed; results in order."""
        if not items:
            return []

        def call(item: SendItem) -> Awaitable[SendResult]:
            return self._call(item.channel, address_for(item.contact, item.channel), item.message)

        if len(items) <= concurrency:  # no gate needed: every call may start at once
            return list(await asyncio.gather(*(call(item) for item in items)))
        gate = asyncio.Semaphore(max(1, concurrency))

        async def gated(item: SendItem) -> SendResult:
            async with gate:
                return await call(item)

        return list(await asyncio.gather(*(gated(item) for item in items)))

    async def record_outcomes(
        self,
        session: AsyncSession,
        items: Sequence[SendItem],
        ids: Sequence[int],
        results: Sequence[SendResult],
    ) -> None:
        """The outcomes of a batch, one bulk UPDATE in the caller's transaction."""
        if not ids:
            return
        rows = [self._outcome(i, r) for i, r in zip(ids, results, strict=True)]
        await update_rows(session, _MESSAGES, _OUTCOME_COLUMNS, rows)
        if log.isEnabledFor(logging.INFO):
            for item, message_id, result in zip(items, ids, results, strict=True):
                address = address_for(item.contact, item.channel)
                self._log(message_id, item.channel, address, result.outcome)

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
        timing, count = self._meters.get(channel) or self._meter(channel)
        timing.observe(time.perf_counter() - started)
        count.inc()
        return result

    def _meter(self, channel: ChannelName) -> tuple[Any, Any]:
        meters = (
            self.metrics.send_seconds.labels(channel=channel),
            self.metrics.messages_total.labels(direction="out", channel=channel),
        )
        self._meters[channel] = meters
        return meters

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
        row = self._row(SendItem(contact, channel, message, author, touch_id))

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
        async with self._lock(), self.sessions.begin() as session:
            ids = await self.insert_sending(session, items)
        results = await self.call_many(items, concurrency)
        async with self._lock(), self.sessions.begin() as session:
            await self.record_outcomes(session, items, ids, results)
        return [Sent(i, r) for i, r in zip(ids, results, strict=True)]


_MESSAGES = cast(Table, Message.__table__)
# One statement for a whole batch; ids come back in the order the rows were given.
_INSERT_SENDING = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
_OUTCOME_COLUMNS = (
    "status",
    "provider_message_id",
    "error_code",
    "error_reason",
    "segments",
    "status_at",
)
_STATUS = {"sent": "sent", "failed": "failed", "unknown": "unknown", "no_account": "failed"}
