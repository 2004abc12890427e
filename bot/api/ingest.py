"""Applying validated shop events to the store: contacts, consents, checkouts, idempotency.

A batch is applied in one transaction with few round trips: events are de-duplicated by
one INSERT … ON CONFLICT DO NOTHING, contacts and checkouts are upserted in bulk, and the
rarer kinds are applied one statement each in the order they occurred.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.cache_key import CacheKey

from bot.api.schemas import (
    CheckoutUpdated,
    CheckoutVisited,
    ConsentGranted,
    ConsentRevoked,
    OrderPaid,
    OrderStatusChanged,
    PaymentFailed,
    ShopEvent,
)
from bot.store.models import Checkout, Consent, Contact, Event


@dataclass(frozen=True)
class AppliedEvent:
    """An event that was new and is now reflected in the store."""

    event: ShopEvent
    shop: str
    contact_id: int
    checkout_id: int | None
    received_at: datetime


EventListener = Callable[[AsyncSession, Sequence[AppliedEvent]], Awaitable[None]]


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


class _Named:
    """A statement built once per dialect by `_cached`, whose cache key is its name.

    SQLAlchemy gives the dialects' INSERT (the one with ON CONFLICT) no cache key, so it
    compiled these upserts again on every execution (~2 ms each). They hold no bound
    values of their own (every value comes with the rows), so the name is a whole key.
    """

    _statement_name: str

    def _generate_cache_key(self) -> CacheKey:
        return CacheKey(("bot.api.ingest", self._statement_name), [])


_NAMED = {
    name: type(f"Named{name.title()}Insert", (_Named, module.Insert), {"inherit_cache": False})
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
_cache: dict[tuple[str, str], Any] = {}


def _cached(session: AsyncSession, name: str, build: Callable[[Any], Any]) -> Any:
    """One statement object per dialect, compiled once: `build` gets an `insert(table)`."""
    key = (session.bind.dialect.name, name)
    if key not in _cache:
        named = _NAMED["postgresql" if key[0] == "postgresql" else "sqlite"]

        def insert(table: Any) -> Any:
            statement = named(table)
            statement._statement_name = name  # generative copies keep it
            return statement

        _cache[key] = build(insert)
    return _cache[key]


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
    statement = _cached(
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
    result = await session.execute(_cached(session, "contacts", _contacts_upsert), rows)
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
    result = await session.execute(_cached(session, "checkouts", _checkouts_upsert), rows)
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


async def _checkout_id(
    session: AsyncSession, contact_id: int, external_id: str, at: datetime, stage: str = "payment"
) -> int:
    """The row of a checkout referenced by id; a minimal row when it arrives out of order."""
    found = await session.scalar(
        select(Checkout.id).where(
            Checkout.contact_id == contact_id, Checkout.external_id == external_id
        )
    )
    if found is not None:
        return int(found)
    statement = (
        _insert(session, Checkout)
        .values(
            contact_id=contact_id,
            external_id=external_id,
            stage=stage,
            status="open",
            item_count=0,
            failed_payments=0,
            last_activity_at=at,
            created_at=at,
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["contact_id", "external_id"])
        .returning(Checkout.id)
    )
    inserted = await session.scalar(statement)
    if inserted is not None:
        return int(inserted)
    return int(
        await session.scalar(
            select(Checkout.id).where(
                Checkout.contact_id == contact_id, Checkout.external_id == external_id
            )
        )
        or 0
    )


async def _apply_one(
    session: AsyncSession, event: ShopEvent, contact_id: int, checkout_id: int | None
) -> int | None:
    """Apply a non-bulk event; return the checkout it concerns, if any."""
    at = event.occurred_at
    if isinstance(event, ConsentGranted):
        session.add(
            Consent(
                contact_id=contact_id,
                channel=event.channel,
                purpose=event.purpose,
                source=event.source,
                text_shown=event.text_shown,
                text_version=event.text_version,
                granted_at=at,
                event_id=event.id,
            )
        )
        await session.flush()
        return None
    if isinstance(event, ConsentRevoked):
        await revoke_consent(session, contact_id, event.channel, at, event.method or "shop_event")
        return None
    if isinstance(event, CheckoutVisited):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at, "cart")
        await session.execute(
            update(Checkout)
            .where(Checkout.id == checkout_id, Checkout.last_activity_at < at)
            .values(last_activity_at=at, updated_at=at)
        )
        return checkout_id
    if isinstance(event, PaymentFailed):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
        values: dict[str, Any] = {
            "failed_payments": Checkout.failed_payments + 1,
            "last_failure_reason": event.reason,
            "stage": "payment",
            "updated_at": at,
        }
        if event.pay_url:
            values["pay_url"] = event.pay_url
        await session.execute(update(Checkout).where(Checkout.id == checkout_id).values(values))
        return checkout_id
    if isinstance(event, OrderPaid):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
        paid: dict[str, Any] = {
            "status": "paid",
            "paid_at": at,
            "order_id": event.order.id,
            "updated_at": at,
        }
        if event.total is not None:
            paid["total"] = Decimal(event.total)
        if event.currency is not None:
            paid["currency"] = event.currency
        await session.execute(update(Checkout).where(Checkout.id == checkout_id).values(paid))
        return checkout_id
    if isinstance(event, OrderStatusChanged):
        changes: dict[str, Any] = {"order_status": event.order.status, "updated_at": at}
        if event.order.tracking_url:
            changes["tracking_url"] = event.order.tracking_url
        statement = update(Checkout).values(changes)
        if event.checkout is not None:
            checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
            await session.execute(statement.where(Checkout.id == checkout_id))
            return checkout_id
        found = await session.scalar(
            select(Checkout.id).where(
                Checkout.contact_id == contact_id, Checkout.order_id == event.order.id
            )
        )
        if found is not None:
            await session.execute(statement.where(Checkout.id == found))
            return int(found)
        return None
    return checkout_id


async def revoke_consent(
    session: AsyncSession, contact_id: int, channel: str, at: datetime, method: str
) -> int:
    """Close the contact's open consents on a channel (or all); effective at once (R-SR1)."""
    statement = (
        update(Consent)
        .where(Consent.contact_id == contact_id, Consent.revoked_at.is_(None))
        .values(revoked_at=at, revoke_method=method[:64])
    )
    if channel != "all":
        statement = statement.where(Consent.channel == channel)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


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
            checkout_id = await _apply_one(session, event, contact_id, None)
        applied.append(AppliedEvent(event, shop, contact_id, checkout_id, now))
    for listener in listeners:
        await listener(session, applied)
    return new_ids
