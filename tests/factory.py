"""Builders of contacts, checkouts and shop events: as the events API takes them, and as
rows of the store for tests that seed it directly.

Every builder has defaults that make a valid payload (contact c1, checkout k1, 09:00 UTC on
Monday 2026-03-02, which is noon in Moscow) and takes keyword overrides; in a payload an
override of None drops the field, in a row it stores NULL.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.store.models import Chain, Checkout, Contact, Touch

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Monday
PHONE = "+79161234567"
ITEMS: tuple[dict[str, Any], ...] = (
    {"name": "Кроссовки Run 2", "quantity": 1, "price": "5990.00"},
    {"name": "Носки", "quantity": 3, "price": "290.00"},
)
TOTAL = "6860.00"  # of ITEMS
_event_ids = itertools.count(1)


def at(**delta: float) -> datetime:
    """START moved by a timedelta's keywords: at(hours=1, minutes=5)."""
    return START + timedelta(**delta)


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def contact(cid: str = "c1", **fields: Any) -> dict[str, Any]:
    """A shopper as events carry them in full: phone, name, language and time zone."""
    base: dict[str, Any] = {
        "id": cid,
        "phone": PHONE,
        "name": "Anna",
        "language": "ru",
        "timezone": "Europe/Moscow",
    }
    return _without_none(base | fields)


def checkout(
    kid: str = "k1",
    *,
    stage: str = "cart",
    total: str | None = None,
    items: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A checkout: two items for 6860.00 RUB, or one item at `total` when only that is given."""
    if items is None:
        items = (
            [dict(i) for i in ITEMS]
            if total is None
            else [{"name": ITEMS[0]["name"], "quantity": 1, "price": total}]
        )
    base: dict[str, Any] = {
        "id": kid,
        "stage": stage,
        "items": items,
        "total": total or TOTAL,
        "currency": "RUB",
        "resume_url": f"https://shop.example/checkout/{kid}",
    }
    return _without_none(base | fields)


def event(
    kind: str,
    cid: str = "c1",
    when: datetime = START,
    *,
    person: dict[str, Any] | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Any event; its contact is `person`, or just the id `cid` (the API knows the rest)."""
    return _without_none(
        {
            "id": event_id or f"ev-{next(_event_ids)}",
            "type": kind,
            "occurred_at": when.isoformat(),
            "contact": person or {"id": cid},
            **fields,
        }
    )


def checkout_updated(
    cid: str = "c1",
    kid: str = "k1",
    *,
    stage: str = "cart",
    when: datetime = START,
    total: str | None = None,
    event_id: str | None = None,
    **person: Any,
) -> dict[str, Any]:
    """checkout.updated with the full contact; `person` overrides contact fields."""
    return event(
        "checkout.updated",
        cid,
        when,
        person=contact(cid, **person),
        event_id=event_id,
        checkout=checkout(kid, stage=stage, total=total),
    )


def consent(
    cid: str = "c1",
    channel: str = "whatsapp",
    when: datetime = START,
    *,
    granted: bool = True,
    source: str | None = "checkout_checkbox",
    event_id: str | None = None,
    **person: Any,
) -> dict[str, Any]:
    """consent.granted (or .revoked, which has no source) with the full contact."""
    return event(
        "consent.granted" if granted else "consent.revoked",
        cid,
        when,
        person=contact(cid, **person),
        event_id=event_id,
        channel=channel,
        source=source if granted else None,
    )


def payment_failed(
    cid: str = "c1",
    reason: str = "card_data",
    when: datetime = START,
    *,
    kid: str = "k1",
    **fields: Any,
) -> dict[str, Any]:
    """payment.failed for the checkout, with a pay_url for it unless pay_url=None."""
    fields.setdefault("pay_url", f"https://pay.example/{kid}")
    return event("payment.failed", cid, when, checkout={"id": kid}, reason=reason, **fields)


def order_paid(
    cid: str = "c1",
    order_id: str = "o1",
    when: datetime = START,
    *,
    kid: str = "k1",
    **fields: Any,
) -> dict[str, Any]:
    """order.paid: the checkout became order `order_id`."""
    return event("order.paid", cid, when, checkout={"id": kid}, order={"id": order_id}, **fields)


def order_status(
    cid: str = "c1",
    status: str = "shipped",
    when: datetime = START,
    *,
    order_id: str = "o1",
    event_id: str | None = None,
    **order: Any,
) -> dict[str, Any]:
    """order.status_changed; `order` adds fields of the order (tracking_url, carrier)."""
    fields = {"id": order_id, "status": status, **order}
    return event("order.status_changed", cid, when, event_id=event_id, order=fields)


def contact_row(cid: str = "c1", **fields: Any) -> Contact:
    """A contacts row with a phone and a first name, created at START; not yet added."""
    base: dict[str, Any] = {
        "shop": "default",
        "external_id": cid,
        "phone": PHONE,
        "first_name": "Anna",
        "created_at": START,
        "updated_at": START,
    }
    return Contact(**(base | fields))


def checkout_row(contact_id: int, kid: str = "k1", **fields: Any) -> Checkout:
    """A checkouts row as checkout() is stored: open, in the cart, 6860.00 RUB; not yet added."""
    base: dict[str, Any] = {
        "contact_id": contact_id,
        "external_id": kid,
        "stage": "cart",
        "status": "open",
        "top_item": ITEMS[0]["name"],
        "item_count": sum(int(i["quantity"]) for i in ITEMS),
        "total": Decimal(TOTAL),
        "currency": "RUB",
        "resume_url": f"https://shop.example/checkout/{kid}",
        "failed_payments": 0,
        "last_activity_at": START,
        "created_at": START,
        "updated_at": START,
    }
    return Checkout(**(base | fields))


def touch_row(chain: Chain, step: str, due_at: datetime, **fields: Any) -> Touch:
    """A planned WhatsApp touch of `chain`'s flow and variant, created when due; not yet added."""
    base: dict[str, Any] = {
        "chain_id": chain.id,
        "contact_id": chain.contact_id,
        "flow": chain.flow,
        "variant": chain.variant,
        "channel": "whatsapp",
        "step": step,
        "due_at": due_at,
        "status": "planned",
        "created_at": due_at,
    }
    return Touch(**(base | fields))
