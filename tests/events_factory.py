"""Builders of valid shop events for tests and benchmarks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

_counter = itertools.count(1)


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)).isoformat()


def contact(contact_id: str = "c1", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": contact_id,
        "phone": "+79161234567",
        "name": "Anna",
        "language": "ru",
        "timezone": "Europe/Moscow",
    }
    base.update(extra)
    return base


def checkout_updated(
    contact_id: str = "c1",
    checkout_id: str = "k1",
    *,
    event_id: str | None = None,
    at: datetime | None = None,
    stage: str = "payment",
    **extra: Any,
) -> dict[str, Any]:
    checkout: dict[str, Any] = {
        "id": checkout_id,
        "stage": stage,
        "items": [
            {"name": "Кроссовки Run 2", "quantity": 1, "price": "5990.00"},
            {"name": "Носки", "quantity": 3, "price": "290.00"},
        ],
        "total": "6860.00",
        "currency": "RUB",
        "resume_url": f"https://shop.example/checkout/{checkout_id}",
    }
    checkout.update(extra)
    return {
        "id": event_id or f"ev-{next(_counter)}",
        "type": "checkout.updated",
        "occurred_at": stamp(at),
        "contact": contact(contact_id),
        "checkout": checkout,
    }


def consent(
    contact_id: str = "c1",
    channel: str = "whatsapp",
    *,
    granted: bool = True,
    at: datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id or f"ev-{next(_counter)}",
        "type": "consent.granted" if granted else "consent.revoked",
        "occurred_at": stamp(at),
        "contact": contact(contact_id),
        "channel": channel,
    }
    if granted:
        event["source"] = "checkout_checkbox"
    return event


def simple(
    kind: str,
    contact_id: str = "c1",
    checkout_id: str = "k1",
    *,
    at: datetime | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id or f"ev-{next(_counter)}",
        "type": kind,
        "occurred_at": stamp(at),
        "contact": {"id": contact_id},
    }
    if kind != "order.status_changed":
        event["checkout"] = {"id": checkout_id}
    event.update(fields)
    return event
