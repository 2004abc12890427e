"""The shop events API: validation, idempotency, batches, auth, effects in the store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app_keys import SESSIONS, SETTINGS
from bot.store.models import Checkout, Consent, Contact, Event
from tests.conftest import AUTH
from tests.factory import checkout_updated, consent, event, order_paid, order_status, payment_failed


async def _count(client: TestClient[Any, Any], model: Any) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_single_event_is_accepted_and_stored(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/api/v1/events", json=checkout_updated(stage="payment"), headers=AUTH
    )
    assert response.status == 202
    body = await response.json()
    assert body["results"][0]["status"] == "accepted"
    async with client.app[SESSIONS]() as session:
        checkout = (await session.execute(select(Checkout))).scalar_one()
        contact = (await session.execute(select(Contact))).scalar_one()
    assert checkout.top_item == "Кроссовки Run 2"  # the most notable item only (R-PZ1)
    assert checkout.item_count == 4
    assert checkout.total == Decimal("6860.00")
    assert checkout.stage == "payment"
    assert contact.first_name == "Anna" and contact.phone == "+79161234567"


async def test_same_id_twice_is_a_duplicate(client: TestClient[Any, Any]) -> None:
    once = checkout_updated(event_id="dup-1")
    first = await client.post("/api/v1/events", json=once, headers=AUTH)
    second = await client.post("/api/v1/events", json=once, headers=AUTH)
    assert (await first.json())["results"][0]["status"] == "accepted"
    assert second.status == 202
    assert (await second.json())["results"][0]["status"] == "duplicate"
    assert await _count(client, Event) == 1


async def test_batch_reports_per_item_and_keeps_the_valid(client: TestClient[Any, Any]) -> None:
    bad = checkout_updated(event_id="bad")
    bad["checkout"]["total"] = "-5"
    same = checkout_updated(kid="k2", event_id="twice")
    batch = {"events": [checkout_updated(event_id="good"), bad, same, same, {"nope": 1}, 7]}
    response = await client.post("/api/v1/events", json=batch, headers=AUTH)
    assert response.status == 202
    results = (await response.json())["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
    ]
    assert "checkout.total" in results[1]["error"]
    assert results[4]["error"].startswith("type:")
    assert await _count(client, Event) == 2
    assert await _count(client, Checkout) == 2


async def test_single_bad_event_is_422_naming_the_field(client: TestClient[Any, Any]) -> None:
    invalid = checkout_updated()
    invalid["contact"]["phone"] = "8 916 123"
    response = await client.post("/api/v1/events", json=invalid, headers=AUTH)
    assert response.status == 422
    body = await response.json()
    assert "contact.phone" in body["error"]
    assert await _count(client, Event) == 0


async def test_unknown_field_and_missing_offset_are_named(client: TestClient[Any, Any]) -> None:
    invalid = checkout_updated()
    invalid["occurred_at"] = "2026-03-02T09:00:00"
    invalid["surprise"] = True
    body = await (await client.post("/api/v1/events", json=invalid, headers=AUTH)).json()
    assert "occurred_at" in body["error"] and "surprise" in body["error"]


async def test_auth_is_required(client: TestClient[Any, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = await client.post("/api/v1/events", json=checkout_updated(), headers=headers)
        assert response.status == 401
    assert await _count(client, Event) == 0


async def test_oversized_body_is_413(client: TestClient[Any, Any]) -> None:
    huge = b'{"events": [' + b" " * (client.app[SETTINGS].max_body_bytes + 10) + b"]}"
    response = await client.post(
        "/api/v1/events", data=huge, headers=AUTH | {"Content-Type": "application/json"}
    )
    assert response.status == 413


async def test_invalid_json_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/v1/events", data=b"{not json", headers=AUTH)
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]


async def test_consent_grant_and_revoke(client: TestClient[Any, Any]) -> None:
    await client.post("/api/v1/events", json=consent(channel="whatsapp"), headers=AUTH)
    await client.post("/api/v1/events", json=consent(channel="sms"), headers=AUTH)
    revoke = consent(channel="all", granted=False)
    response = await client.post("/api/v1/events", json=revoke, headers=AUTH)
    assert response.status == 202
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(Consent))).scalars().all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)


async def test_payment_failed_paid_and_status(client: TestClient[Any, Any]) -> None:
    await client.post("/api/v1/events", json=checkout_updated(), headers=AUTH)
    for _ in range(2):
        failed = payment_failed(reason="insufficient_funds", pay_url="https://shop.example/pay/k1")
        assert (await client.post("/api/v1/events", json=failed, headers=AUTH)).status == 202
    paid = order_paid(order_id="o1")
    assert (await client.post("/api/v1/events", json=paid, headers=AUTH)).status == 202
    shipped = order_status(status="shipped", order_id="o1")
    assert (await client.post("/api/v1/events", json=shipped, headers=AUTH)).status == 202
    async with client.app[SESSIONS]() as session:
        checkout = (await session.execute(select(Checkout))).scalar_one()
    assert checkout.failed_payments == 2
    assert checkout.status == "paid" and checkout.order_id == "o1"
    assert checkout.order_status == "shipped"
    assert checkout.pay_url == "https://shop.example/pay/k1"


async def test_older_update_does_not_override_newer(client: TestClient[Any, Any]) -> None:
    from datetime import UTC, datetime

    newer = checkout_updated(when=datetime(2026, 3, 2, 10, 0, tzinfo=UTC), stage="payment")
    older = checkout_updated(when=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), stage="cart")
    await client.post("/api/v1/events", json=newer, headers=AUTH)
    await client.post("/api/v1/events", json=older, headers=AUTH)
    async with client.app[SESSIONS]() as session:
        checkout = (await session.execute(select(Checkout))).scalar_one()
    assert checkout.stage == "payment"
    assert checkout.last_activity_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def test_all_seven_types_accepted_in_one_batch(client: TestClient[Any, Any]) -> None:
    batch = {
        "events": [
            consent(),
            consent(granted=False, channel="sms"),
            checkout_updated(),
            event("checkout.visited", checkout={"id": "k1"}),
            payment_failed(reason="three_ds", pay_url=None),
            order_paid(order_id="o9"),
            order_status(status="delivered", order_id="o9"),
        ]
    }
    response = await client.post("/api/v1/events", json=batch, headers=AUTH)
    assert [r["status"] for r in (await response.json())["results"]] == ["accepted"] * 7


async def test_health_metrics_and_openapi(client: TestClient[Any, Any]) -> None:
    health = await client.get("/health")
    body = await health.json()
    assert health.status == 200 and body["components"]["db"] == "ok"
    assert body["status"] in {"ok", "degraded"}
    await client.post("/api/v1/events", json=checkout_updated(), headers=AUTH)
    metrics = await (await client.get("/metrics")).text()
    assert 'nudge_events_total{status="accepted"} 1.0' in metrics
    spec = await (await client.get("/api/openapi.json")).json()
    assert "/api/v1/events" in spec["paths"]
    assert "CheckoutUpdated" in spec["components"]["schemas"]


async def test_concurrent_requests_with_one_id_accept_it_once(
    client: TestClient[Any, Any],
) -> None:
    import asyncio

    racing = checkout_updated(event_id="race-1")
    others = [checkout_updated(f"c{n}") for n in range(20)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/events", json=e, headers=AUTH) for e in [racing, *others, racing])
    )
    statuses = [(await r.json())["results"][0]["status"] for r in responses]
    assert statuses.count("duplicate") == 1
    assert statuses.count("accepted") == 21
    assert await _count(client, Event) == 21
