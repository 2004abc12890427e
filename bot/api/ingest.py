"""Applying validated shop events to the store: contacts, consents, checkouts, idempotency.

A batch is applied in one transaction with few round trips: events are de-duplicated by
one INSERT … ON CONFLICT DO NOTHING, contacts and checkouts are upserted in bulk
(`bot/api/upserts.py`), and the rarer kinds are applied one statement each in the order
they occurred (`bot/api/event_effects.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.event_effects import apply_one, revoke_consent
from bot.api.schemas import CheckoutUpdated, ShopEvent
from bot.api.upserts import record_new_events, upsert_checkouts, upsert_contacts

__all__ = ["AppliedEvent", "EventListener", "apply_events", "revoke_consent"]


@dataclass(frozen=True)
class AppliedEvent:
    """An event that was new and is now reflected in the store."""

    event: ShopEvent
    shop: str
    contact_id: int
    checkout_id: int | None
    received_at: datetime


EventListener = Callable[[AsyncSession, Sequence[AppliedEvent]], Awaitable[None]]


async def apply_events(
    session: AsyncSession,
    shop: str,
    events: Sequence[ShopEvent],
    now: datetime,
    listeners: Sequence[EventListener] = (),
) -> set[str]:
    """Store new events and their effects in the caller's transaction; return the new ids."""
    unique: dict[str, ShopEvent] = {}
    for event in events:
        unique.setdefault(event.id, event)
    new_ids = await record_new_events(session, shop, list(unique.values()), now)
    fresh = [e for e in unique.values() if e.id in new_ids]
    if not fresh:
        return new_ids
    contact_ids = await upsert_contacts(session, shop, fresh, now)
    updates = [e for e in fresh if isinstance(e, CheckoutUpdated)]
    checkout_ids = await upsert_checkouts(session, contact_ids, updates)
    applied: list[AppliedEvent] = []
    for event in sorted(fresh, key=lambda e: e.occurred_at):
        contact_id = contact_ids[event.contact.id]
        if isinstance(event, CheckoutUpdated):
            checkout_id: int | None = checkout_ids[(contact_id, event.checkout.id)]
        else:
            checkout_id = await apply_one(session, event, contact_id, None)
        applied.append(AppliedEvent(event, shop, contact_id, checkout_id, now))
    for listener in listeners:
        await listener(session, applied)
    return new_ids
