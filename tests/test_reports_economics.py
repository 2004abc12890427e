"""Order value, cost and complaints in the report (R-MX1, R-MX4), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app_keys import FLOWS, SESSIONS
from bot.phones import country_of
from bot.reports.economics import costs
from flows.replies import Prices
from tests.conftest import AUTH
from tests.reports_fixtures import ChainSpec, TouchSpec, seed

Client = TestClient[Any, Any]
PERIOD = {"from": "2026-03-01", "to": "2026-03-02"}


def scenario() -> list[ChainSpec]:
    specs = [
        ChainSpec("cart", "A", [TouchSpec("reminder", 0)], paid_at=2 if i < 4 else None)
        for i in range(10)
    ]
    specs[4].stop_reason, specs[4].stopped_at = "negative", 1
    specs[5].stop_reason, specs[5].stopped_at = "negative", 1
    specs[6].stop_reason, specs[6].stopped_at = "opt_out", 1
    specs[7].replies = [(0.5, "opt_out")]
    specs[8].phone = "+12125550123"  # priced as a US number
    specs.append(ChainSpec("cart", "A", [], paid_at=5, total=Decimal("3000.00")))  # no touch
    return specs


async def _report(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/recovery", params=PERIOD, headers=AUTH)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_order_value_cost_and_complaints(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    body = await _report(client)
    cart = next(f for f in body["flows"] if f["flow"] == "cart")
    assert (cart["sent"], cart["recovered"]) == (10, 4)
    assert cart["average_recovered_order"] == [
        {"currency": "RUB", "average": "1000.00", "orders": 4}
    ]
    # every order paid in the period: the 4 recovered and one of 3000 that no touch preceded
    assert body["average_order"] == [{"currency": "RUB", "average": "1400.00", "orders": 5}]
    assert cart["messages_per_recovered_order"] == 2.5

    prices = client.app[FLOWS].shop().prices
    ru, us = prices.price("whatsapp", "RU"), prices.price("whatsapp", "US")
    assert ru is not None and us is not None and ru != us
    total = ru * 9 + us
    cost = cart["cost"]
    assert cost["currency"] == prices.currency
    assert Decimal(cost["total"]) == total
    assert Decimal(cost["per_recovered_order"]) == (total / 4).quantize(Decimal("0.01"))
    assert cost["unpriced_messages"] == 0

    variant = cart["steps"][0]["variants"][0]
    assert (variant["negative"], variant["opted_out"], variant["complaints"]) == (2, 2, 4)
    assert variant["complaint_rate"]["value"] == 0.4
    assert variant["complaint_rate"]["n"] == 10


def test_cost_counts_unpriced_channels_and_no_recovery() -> None:
    prices = Prices(currency="EUR", whatsapp={"default": Decimal("0.05"), "PL": Decimal("0.07")})
    rows = [
        {"flow": "cart", "channel": "whatsapp", "country": "PL", "sent": 10},
        {"flow": "cart", "channel": "whatsapp", "country": "RU", "sent": 20},
        {"flow": "cart", "channel": "sms", "country": "PL", "sent": 3},
        {"flow": "payment", "channel": "whatsapp", "country": None, "sent": 4},
    ]
    got = costs(rows, prices, {"cart": 2})
    assert got["cart"].total == Decimal("1.70")
    assert got["cart"].per_recovered_order == Decimal("0.85")
    assert got["cart"].unpriced_messages == 3
    assert got["payment"].total == Decimal("0.20") and got["payment"].per_recovered_order is None


def test_country_of_a_phone_prefix() -> None:
    phones = ("+79161234567", "+12125550123", "+14165550123", "+48601234567", "+8613812345678")
    assert [country_of(p) for p in (*phones, "+919812345678", "+77011234567")] == [
        "RU",
        "US",
        "CA",
        "PL",
        "CN",
        "IN",
        "KZ",
    ]
    assert country_of(None) is None and country_of("abc") is None
    assert country_of("+88213212345") is None  # non-geographic (region "001"): no country
