"""Shopify webhooks (R-IN1, R-IN4): signature, dedupe, topics → events, and the recovery chain."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.app_keys import SESSIONS
from bot.clock import SandboxClock
from bot.integrations.shopify import (
    checkout_event,
    consent_event,
    order_paid_event,
    order_status_event,
)
from bot.store.models import Checkout, Consent, Contact, Event
from tests.conftest import make_settings
from tests.shopify_fixtures import CUSTOMER, SECRET, deliver, payload
from tests.touches_fixtures import Shop


@pytest.fixture
async def shop_client(
    aiohttp_client: Callable[..., Any], tmp_path: Path, db_url: str, clock: SandboxClock
) -> AsyncIterator[TestClient[Any, Any]]:
    settings = make_settings(tmp_path, db_url, shopify_webhook_secret=SECRET)
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    yield await aiohttp_client(app)


async def _count(client: TestClient[Any, Any], model: Any) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_bad_or_missing_signature_is_401_and_stores_nothing(shop_client: Any) -> None:
    body = payload("checkouts_create")
    status, _ = await deliver(shop_client, "checkouts/create", body, secret="not-the-secret")
    assert status == 401
    status, _ = await deliver(shop_client, "checkouts/create", body, signature="")
    assert status == 401
    assert await _count(shop_client, Event) == 0 and await _count(shop_client, Contact) == 0


async def test_without_a_secret_nothing_is_accepted(client: Any) -> None:
    """No NUDGE_SHOPIFY_WEBHOOK_SECRET: even a body signed with an empty key is refused."""
    status, body = await deliver(client, "checkouts/create", payload("checkouts_create"), secret="")
    assert status == 401 and "NUDGE_SHOPIFY_WEBHOOK_SECRET" in body["error"]
    assert await _count(client, Event) == 0


async def test_checkout_is_stored_once_per_webhook_id(shop_client: Any) -> None:
    body = payload("checkouts_create")
    first = await deliver(shop_client, "checkouts/create", body, webhook_id="wh-1")
    again = await deliver(shop_client, "checkouts/create", body, webhook_id="wh-1")
    assert first == (200, {"status": "accepted"}) and again == (200, {"status": "duplicate"})
    async with shop_client.app[SESSIONS]() as session:
        row = (await session.execute(select(Checkout, Contact).join(Contact))).one()
    checkout, contact = row
    assert contact.external_id == CUSTOMER and contact.phone == "+79161234567"
    assert contact.first_name == "Анна" and contact.language == "ru"
    assert checkout.external_id == "shopify:0c8c0a6e4f0d6e1c2b3a49586c7d8e9f"
    assert checkout.stage == "cart" and str(checkout.total) == "6860.00"
    assert checkout.resume_url == body["abandoned_checkout_url"]
    assert await _count(shop_client, Event) == 1


async def test_completed_checkout_and_unknown_topic_are_acknowledged_not_stored(
    shop_client: Any,
) -> None:
    done = payload("checkouts_create") | {"completed_at": "2026-03-02T12:10:00+03:00"}
    assert await deliver(shop_client, "checkouts/update", done) == (200, {"status": "ignored"})
    status, body = await deliver(shop_client, "products/update", {"id": 1})
    assert status == 200 and body["status"] == "ignored"
    assert await _count(shop_client, Event) == 0
    metrics = await (await shop_client.get("/metrics")).text()
    assert 'nudge_integration_events_total{outcome="unknown_topic",platform="shopify"} 1.0' in (
        metrics
    )


async def test_malformed_bodies_are_400_naming_the_problem(shop_client: Any) -> None:
    status, body = await deliver(shop_client, "checkouts/create", b"{not json")
    assert status == 400 and "JSON" in body["error"]
    status, body = await deliver(shop_client, "checkouts/create", b"[1, 2]")
    assert status == 400 and "object" in body["error"]
    broken = payload("checkouts_create")
    del broken["abandoned_checkout_url"]
    status, body = await deliver(shop_client, "checkouts/create", broken)
    assert status == 400 and "abandoned_checkout_url" in body["error"]
    wrong = payload("checkouts_create") | {"presentment_currency": "rubles"}
    status, body = await deliver(shop_client, "checkouts/create", wrong)
    assert status == 400 and "currency" in body["error"]
    assert await _count(shop_client, Event) == 0
    good = await deliver(shop_client, "checkouts/create", payload("checkouts_create"))
    assert good[1]["status"] == "accepted"  # nothing valid is lost after bad neighbours


def test_stage_phone_and_contact_without_a_customer() -> None:
    guest = payload("checkouts_create") | {"customer": None, "sms_marketing_phone": None}
    guest["shipping_address"] = {"first_name": "Ola", "phone": "512 345 678", "country_code": "PL"}
    guest["shipping_lines"] = [{"title": "InPost", "price": "12.99"}]
    event = checkout_event(guest, "wh")
    assert event is not None
    assert event["contact"] == {"id": "shopify:phone:+48512345678", "phone": "+48512345678",
                                "name": "Ola", "language": "ru"}  # fmt: skip
    assert event["checkout"]["stage"] == "delivery"
    assert event["checkout"]["delivery_method"] == "InPost"
    paying = checkout_event(guest | {"gateway": "shopify_payments"}, "wh")
    assert paying is not None and paying["checkout"]["stage"] == "payment"
    assert checkout_event(guest | {"shipping_address": None}, "wh") is None  # unreachable


def test_consent_states_and_fulfilment_statuses() -> None:
    customer = payload("customers_update")
    granted = consent_event(customer)
    assert granted is not None and granted["type"] == "consent.granted"
    assert granted["channel"] == "sms" and granted["source"] == "shopify_shopify_single_opt_in"
    assert granted["occurred_at"] == "2026-03-02T11:59:00+03:00"
    customer["sms_marketing_consent"]["state"] = "unsubscribed"
    revoked = consent_event(customer)
    assert revoked is not None and revoked["type"] == "consent.revoked"
    assert revoked["id"] != granted["id"]
    customer["sms_marketing_consent"]["state"] = "pending"
    assert consent_event(customer) is None
    fulfilment = payload("fulfillments_update")
    event = order_status_event("fulfillments/update", fulfilment, "wh", {"id": CUSTOMER})
    assert event is not None and event["order"] == {"id": "shopify:5612345678901",
                                                     "status": "delivered"}  # fmt: skip
    fulfilment["shipment_status"] = "failure"
    assert order_status_event("fulfillments/update", fulfilment, "wh", {"id": CUSTOMER}) is None


async def test_signed_checkout_gets_touch_1_and_orders_paid_stops_the_chain(
    shop_client: Any,
) -> None:
    """Done when: a checkout from a signed webhook → touch 1 after the idle time (sandbox);
    orders/paid stops the chain; a later fulfilment reaches the same contact."""
    shop = Shop(shop_client)
    # A Moscow landline: one time zone, so 12:30 local is a sending hour (a +7 9xx mobile has
    # the zones of all Russia, and only 10:00-12:00 Moscow time is allowed in every one, R-SR2).
    customer, checkout = (
        json.loads(json.dumps(payload(name)).replace("+79161234567", "+74951234567"))
        for name in ("customers_update", "checkouts_create")
    )
    assert (await deliver(shop_client, "customers/update", customer))[1] == {"status": "accepted"}
    await deliver(shop_client, "checkouts/create", checkout)
    await shop.advance(minutes=29)
    assert await shop.outbox(CUSTOMER) == []
    await shop.advance(minutes=1)
    out = await shop.outbox(CUSTOMER)
    assert [(o["channel"], o["touch"]["step"]) for o in out] == [("sms", "touch_1")]
    assert payload("checkouts_create")["abandoned_checkout_url"] in out[0]["text"]
    paid = payload("orders_paid")
    assert (await deliver(shop_client, "orders/paid", paid))[1] == {"status": "accepted"}
    await shop.advance(days=3)
    assert [o["touch"]["step"] for o in await shop.outbox(CUSTOMER)] == ["touch_1"]
    async with shop_client.app[SESSIONS]() as session:
        checkout = await session.scalar(select(Checkout))
        consents = await session.scalar(select(func.count()).select_from(Consent))
    assert checkout is not None and checkout.status == "paid"
    assert checkout.order_id == "shopify:5612345678901" and consents == 1
    fulfilled = await deliver(shop_client, "fulfillments/update", payload("fulfillments_update"))
    assert fulfilled[1] == {"status": "accepted"}
    async with shop_client.app[SESSIONS]() as session:
        assert await session.scalar(select(Checkout.order_status)) == "delivered"


async def test_a_store_failure_is_503_so_shopify_delivers_again(
    shop_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.api.events import INGEST

    async def broken(*_: Any) -> set[str]:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(shop_client.app[INGEST], "submit", broken)
    status, body = await deliver(shop_client, "checkouts/create", payload("checkouts_create"))
    assert status == 503 and body["status"] == "unavailable"


def test_order_topics_translate_to_the_events_of_the_contract() -> None:
    order = payload("orders_paid")
    paid = order_paid_event(order, "wh-paid")
    assert paid is not None and paid["type"] == "order.paid"
    assert paid["checkout"] == {"id": "shopify:0c8c0a6e4f0d6e1c2b3a49586c7d8e9f"}
    assert paid["contact"]["id"] == CUSTOMER and paid["total"] == "6860.00"
    assert order_paid_event(order | {"checkout_token": None}, "wh-pos") is None  # POS order
    cancelled = order | {"cancelled_at": "2026-03-02T13:00:00+03:00", "cancel_reason": "customer"}
    event = order_status_event("orders/cancelled", cancelled, "wh-c", None)
    assert event is not None and event["order"]["status"] == "cancelled"
    assert event["occurred_at"] == "2026-03-02T13:00:00+03:00"
    assert event["checkout"] == paid["checkout"]
    fulfilled = order_status_event("orders/fulfilled", order, "wh-f", None)
    assert fulfilled is not None and fulfilled["order"]["status"] == "shipped"
