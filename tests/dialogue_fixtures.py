"""A harness that reads like the product: post events, write as the shopper, read the answer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AUTH

_ids = itertools.count(1)
PHONE = "+79161234567"


def contact(
    cid: str = "c1", phone: str = PHONE, language: str = "ru", **extra: Any
) -> dict[str, Any]:
    return {"id": cid, "phone": phone, "name": "Anna Petrova", "language": language,
            "timezone": "Europe/Moscow", **extra}  # fmt: skip


def event(kind: str, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
    moment = at or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return {"id": f"dlg-{next(_ids)}", "type": kind, "occurred_at": moment.isoformat(), **fields}


def checkout(
    cid: str = "c1",
    *,
    total: str = "6860.00",
    stage: str = "payment",
    checkout_id: str = "k1",
    phone: str = PHONE,
    language: str = "ru",
) -> dict[str, Any]:
    return event(
        "checkout.updated",
        contact=contact(cid, phone, language),
        checkout={
            "id": checkout_id,
            "stage": stage,
            "items": [{"name": "Кроссовки Run 2", "quantity": 1, "price": total}],
            "total": total,
            "currency": "RUB",
            "resume_url": f"https://shop.example/checkout/{checkout_id}",
        },
    )


async def post_events(client: TestClient[Any, Any], *events: dict[str, Any]) -> None:
    response = await client.post("/api/v1/events", json={"events": list(events)}, headers=AUTH)
    assert response.status == 202, await response.text()
    body = await response.json()
    assert all(r["status"] == "accepted" for r in body["results"]), body


async def shopper(
    client: TestClient[Any, Any],
    cid: str = "c1",
    *,
    phone: str = PHONE,
    language: str = "ru",
    **checkout_fields: Any,
) -> None:
    """A shopper with WhatsApp consent and a checkout (default: stuck at payment)."""
    await post_events(
        client,
        event("consent.granted", contact=contact(cid, phone, language), channel="whatsapp",
              source="checkout_checkbox"),
        checkout(cid, phone=phone, language=language, **checkout_fields),
    )  # fmt: skip


async def say(
    client: TestClient[Any, Any],
    text: str | None = None,
    *,
    button: str | None = None,
    phone: str = PHONE,
    channel: str = "whatsapp",
) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": channel, "from": phone}
    if button is not None:
        body["button"] = button
    else:
        body["text"] = text
    response = await client.post("/sandbox/inbound", json=body)
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def conversation(client: TestClient[Any, Any], cid: str = "c1") -> dict[str, Any]:
    response = await client.get(f"/sandbox/conversations/{cid}")
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def texts(result: dict[str, Any]) -> str:
    return " | ".join(r["text"] for r in result["replies"])
