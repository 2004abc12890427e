"""A harness that reads like the product: post events, move the clock, read the outbox."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AUTH

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Monday
_ids = itertools.count(1)


def at(**delta: float) -> datetime:
    return START + timedelta(**delta)


def contact(cid: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": cid,
        "phone": "+79161234567",
        "name": "Anna",
        "language": "ru",
        "timezone": "Europe/Moscow",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def event(
    kind: str, cid: str, when: datetime, person: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": f"t4-{next(_ids)}",
        "type": kind,
        "occurred_at": when.isoformat(),
        "contact": person or {"id": cid},
        **fields,
    }


def failed(cid: str, reason: str, minutes: float, kid: str = "k1") -> dict[str, Any]:
    """A payment.failed event for the checkout, `minutes` after START."""
    return event(
        "payment.failed",
        cid,
        at(minutes=minutes),
        checkout={"id": kid},
        reason=reason,
        pay_url=f"https://pay.example/{kid}",
    )


def consent(
    cid: str, channel: str = "whatsapp", when: datetime = START, **person: Any
) -> dict[str, Any]:
    return event(
        "consent.granted",
        cid,
        when,
        contact(cid, **person),
        channel=channel,
        source="checkout_checkbox",
    )


def checkout(
    cid: str, kid: str = "k1", stage: str = "cart", when: datetime = START, **person: Any
) -> dict[str, Any]:
    return event(
        "checkout.updated",
        cid,
        when,
        contact(cid, **person),
        checkout={
            "id": kid,
            "stage": stage,
            "items": [
                {"name": "Кроссовки Run 2", "quantity": 1, "price": "5990.00"},
                {"name": "Носки", "quantity": 3, "price": "290.00"},
            ],
            "total": "6860.00",
            "currency": "RUB",
            "resume_url": f"https://shop.example/checkout/{kid}",
        },
    )


class Shop:
    """The black-box surface: the events API and the sandbox endpoints."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def post(self, *events: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/events", json={"events": list(events)}, headers=AUTH
        )
        body: dict[str, Any] = await response.json()
        assert response.status == 202, body
        assert all(r["status"] == "accepted" for r in body["results"]), body
        return body

    async def clock(self, **body: Any) -> Any:
        response = await self.client.post("/sandbox/clock", json=body)
        assert response.status == 200, await response.text()
        return (await response.json())["now"]

    async def advance(self, **delta: float) -> Any:
        return await self.clock(advance_seconds=timedelta(**delta).total_seconds())

    async def set(self, moment: datetime) -> Any:
        return await self.clock(set=moment.isoformat())

    async def outbox(self, cid: str, touches_only: bool = True) -> list[dict[str, Any]]:
        """Messages sent to the contact; by default only proactive touches."""
        response = await self.client.get("/sandbox/outbox", params={"contact_id": cid})
        assert response.status == 200
        items: list[dict[str, Any]] = await response.json()
        return [i for i in items if i["touch"] is not None or not touches_only]

    async def timeline(self, cid: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/contacts/{cid}/timeline", headers=AUTH)
        assert response.status == 200, await response.text()
        entries: list[dict[str, Any]] = (await response.json())["entries"]
        return entries

    async def start(
        self,
        cid: str,
        channel: str = "whatsapp",
        stage: str = "cart",
        kid: str = "k1",
        when: datetime = START,
        **person: Any,
    ) -> None:
        await self.post(
            consent(cid, channel, when, **person), checkout(cid, kid, stage, when, **person)
        )
