"""The bulk writes of an events batch: new event ids, contacts and checkouts, one statement each.

The statements come from the store's upsert cache: compiled once per dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.schemas import CheckoutUpdated, OrderStatusChanged, ShopEvent
from bot.store.models import Checkout, Contact, Event
from bot.store.upsert_cache import cached_insert


def _checkout_ref(event: ShopEvent) -> str | None:
    checkout = getattr(event, "checkout", None)
    return checkout.id if checkout is not None else None


def _subject_ref(event: ShopEvent) -> str | None:
    if isinstance(event, OrderStatusChanged):
        return event.order.id
    return _checkout_ref(event)


async def record_new_events(
    session: AsyncSession, shop: str, events: Sequence[ShopEvent], now: datetime
) -> set[str]:
    """Insert event ids; return the ids that were not seen before (the rest are duplicates)."""
    if not events:
        return set()
    rows = [
        {
            "shop": shop,
            "event_id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "received_at": now,
            "contact_ref": e.contact.id,
            "subject_ref": _subject_ref(e),
        }
        for e in events
    ]
    statement = cached_insert(
        session,
        "events",
        lambda insert: (
            insert(Event.__table__)
            .on_conflict_do_nothing(index_elements=["shop", "event_id"])
            .returning(Event.__table__.c.event_id)
        ),
    )
    return set((await session.execute(statement, rows)).scalars().all())


_CONTACT_FIELDS = ("phone", "telegram_chat_id", "name", "language", "timezone")  # no email


def _merge_contacts(events: Sequence[ShopEvent]) -> dict[str, dict[str, Any]]:
    """One record per contact id, later events overriding the fields they carry (the
    values were validated with the event: they are not validated again)."""
    merged: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        record = merged.setdefault(event.contact.id, {})
        for name in _CONTACT_FIELDS:
            value = getattr(event.contact, name)
            if value is not None:
                record[name] = value
    return merged


async def upsert_contacts(
    session: AsyncSession, shop: str, events: Sequence[ShopEvent], now: datetime
) -> dict[str, int]:
    """Create or update every contact named by the events; return external id → row id."""
    contacts = _merge_contacts(events)
    rows = [
        {
            "shop": shop,
            "external_id": external_id,
            "phone": c.get("phone"),
            "telegram_chat_id": c.get("telegram_chat_id"),
            "first_name": c["name"].split()[0][:64] if c.get("name") else None,
            "language": c.get("language"),
            "timezone": c.get("timezone"),
            "created_at": now,
            "updated_at": now,
        }
        for external_id, c in contacts.items()
    ]
    result = await session.execute(cached_insert(session, "contacts", _contacts_upsert), rows)
    return {external_id: row_id for row_id, external_id in result.all()}


def _contacts_upsert(insert: Callable[[Any], Any]) -> Any:
    table = Contact.__table__
    statement = insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["shop", "external_id"],
        set_={
            name: func.coalesce(excluded[name], table.c[name])
            for name in ("phone", "telegram_chat_id", "first_name", "language", "timezone")
        }
        | {"updated_at": excluded.updated_at},
    ).returning(table.c.id, table.c.external_id)


def _notable_item(event: CheckoutUpdated) -> str | None:
    """The most notable item is the one the shopper spends most on (R-PZ1: one item)."""
    items = event.checkout.items
    if not items:
        return None
    return max(items, key=lambda i: i.price * i.quantity).name[:200]


async def upsert_checkouts(
    session: AsyncSession, contact_ids: dict[str, int], events: Sequence[CheckoutUpdated]
) -> dict[tuple[int, str], int]:
    """Bulk upsert of checkout.updated events, the latest one per checkout winning."""
    latest: dict[tuple[int, str], CheckoutUpdated] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        latest[(contact_ids[event.contact.id], event.checkout.id)] = event
    if not latest:
        return {}
    rows = []
    for (contact_id, external_id), event in latest.items():
        c = event.checkout
        rows.append(
            {
                "contact_id": contact_id,
                "external_id": external_id,
                "stage": c.stage,
                "status": "open",
                "top_item": _notable_item(event),
                "item_count": sum(i.quantity for i in c.items),
                "total": c.total,
                "currency": c.currency,
                "resume_url": c.resume_url,
                "delivery_method": c.delivery_method,
                "failed_payments": 0,
                "last_activity_at": event.occurred_at,
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
            }
        )
    result = await session.execute(cached_insert(session, "checkouts", _checkouts_upsert), rows)
    return {(contact_id, ext): row_id for row_id, contact_id, ext in result.all()}


def _checkouts_upsert(insert: Callable[[Any], Any]) -> Any:
    """Upsert where an older event (by activity time) never overrides a newer one."""
    table = Checkout.__table__
    statement = insert(table)
    excluded, c = statement.excluded, table.c
    newer = excluded.last_activity_at >= c.last_activity_at
    fields = ("stage", "top_item", "item_count", "total", "currency", "resume_url")
    set_: dict[str, Any] = {name: case((newer, excluded[name]), else_=c[name]) for name in fields}
    set_["delivery_method"] = case(
        (newer, func.coalesce(excluded.delivery_method, c.delivery_method)),
        else_=c.delivery_method,
    )
    set_["last_activity_at"] = case((newer, excluded.last_activity_at), else_=c.last_activity_at)
    set_["updated_at"] = excluded.updated_at
    return statement.on_conflict_do_update(
        index_elements=["contact_id", "external_id"], set_=set_
    ).returning(c.id, c.contact_id, c.external_id)
