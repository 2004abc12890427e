"""Purge of data past NUDGE_RETENTION_DAYS (R-PS1): events, messages, webhooks, audit,
and checkouts that are closed (paid, or idle past retention) with their chains and touches.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from bot.store.db import SessionFactory
from bot.store.models import AuditEntry, Chain, Checkout, Event, InboundWebhook, Message, Touch

log = logging.getLogger(__name__)


async def purge(sessions: SessionFactory, now: datetime, days: int) -> dict[str, int]:
    """Delete everything older than `days`; return rows removed per table."""
    cutoff = now - timedelta(days=days)
    removed: dict[str, int] = {}
    async with sessions.begin() as session:
        old_checkouts = or_(Checkout.status != "open", Checkout.last_activity_at < cutoff)
        finished = Chain.status.notin_(("active", "paused"))
        statements = {
            "events": delete(Event).where(Event.received_at < cutoff),
            "messages": delete(Message).where(Message.created_at < cutoff),
            "inbound_webhooks": delete(InboundWebhook).where(InboundWebhook.received_at < cutoff),
            "audit_log": delete(AuditEntry).where(AuditEntry.at < cutoff),
            "touches": delete(Touch).where(
                Touch.created_at < cutoff,
                Touch.status.notin_(("planned", "claimed", "sending")),
            ),
            "chains": delete(Chain).where(Chain.started_at < cutoff, finished),
            "checkouts": delete(Checkout).where(Checkout.updated_at < cutoff, old_checkouts),
        }
        for name, statement in statements.items():
            result = await session.execute(statement.execution_options(synchronize_session=False))
            removed[name] = int(getattr(result, "rowcount", 0) or 0)
    log.info("retention purge before %s: %s", cutoff.date().isoformat(), removed)
    return removed
