"""The recovery report over seeded chains with known outcomes, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app_keys import SESSIONS
from bot.reports.stats import wilson
from tests.conftest import AUTH
from tests.reports_fixtures import ChainSpec, TouchSpec, one, seed

Client = TestClient[Any, Any]
PERIOD = {"from": "2026-02-01", "to": "2026-03-31"}


def cart_a() -> list[ChainSpec]:
    """40 chains of variant A (the control) with every outcome the report counts."""
    specs: list[ChainSpec] = []
    for i in range(40):
        status = "read" if i < 10 else "delivered" if i < 30 else "failed" if i < 35 else "sent"
        spec = one("cart", "reminder", "A", status=status)
        if i < 20:
            spec.paid_at = 2
            if i >= 15:
                spec.total, spec.currency = Decimal("50.50"), "EUR"
        elif i == 20:
            spec.paid_at = 73  # one hour past the attribution window
        elif i == 21:
            spec.paid_at = -1  # paid before the touch
        if 20 <= i <= 27:
            spec.replies = [(1, "opt_out" if i in (20, 21) else "other")]
        if i == 28:
            spec.stop_reason, spec.stopped_at = "opt_out", 3
        if 22 <= i <= 25:
            spec.escalated_at = 1.5
            spec.answer_after_s = (60, 120, 180, 600)[i - 22]
        spec.resolved_by = {22: "operator", 23: "operator", 20: "bot", 26: "bot", 27: "bot"}.get(i)
        specs.append(spec)
    return specs


def scenario() -> list[ChainSpec]:
    specs = cart_a()
    specs += [one("cart", "reminder", "B", paid_at=2 if i < 5 else None) for i in range(40)]
    specs += [one("cart", "reminder", "C", paid_at=2 if i < 16 else None) for i in range(40)]
    two = [TouchSpec("first", 0), TouchSpec("second", 24)]
    specs += [
        ChainSpec("payment", None, list(two), paid_at=30),  # credited to the second touch
        ChainSpec("payment", None, [TouchSpec("first", 0)], paid_at=5),
        ChainSpec("payment", None, list(two), paid_at=97, replies=[(2, "other")]),
        ChainSpec("payment", None, [TouchSpec("first", 0)], paid_at=71),
        ChainSpec("payment", None, [TouchSpec("first", 0, sent=False)], paid_at=5),
        one("cart", "reminder", "A", paid_at=2, shop="other"),  # another shop
        ChainSpec("cart", "A", [TouchSpec("reminder", -24 * 40)], paid_at=-24 * 40 + 1),
    ]
    return specs


async def report(client: Client, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/recovery", params=params, headers=AUTH)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def by_variant(body: dict[str, Any], flow: str, step: str) -> dict[str, dict[str, Any]]:
    f = next(f for f in body["flows"] if f["flow"] == flow)
    s = next(s for s in f["steps"] if s["step"] == step)
    return {v["variant"]: v for v in s["variants"]}


async def test_report_counts_rates_and_revenue(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    body = await report(client, **PERIOD)
    a = by_variant(body, "cart", "reminder")["A"]
    assert {k: a[k] for k in ("sent", "delivered", "read", "replied")} == {
        "sent": 40,
        "delivered": 30,
        "read": 10,
        "replied": 8,
    }
    assert {k: a[k] for k in ("recovered", "opted_out", "handoffs", "deflected")} == {
        "recovered": 20,
        "opted_out": 3,
        "handoffs": 4,
        "deflected": 4,
    }
    assert a["recovery_rate"]["value"] == 0.5 and a["recovery_rate"]["n"] == 40
    expected = wilson(20, 40)
    assert a["recovery_rate"]["low"] == pytest.approx(0.35199, abs=1e-4) == expected.low
    assert a["recovery_rate"]["high"] == pytest.approx(0.64801, abs=1e-4)
    assert a["opt_out_rate"]["value"] == pytest.approx(3 / 40)
    assert a["handoff_rate"]["value"] == pytest.approx(0.1)
    assert a["deflection_rate"]["value"] == 0.5 and a["deflection_rate"]["n"] == 8
    assert a["median_first_answer_seconds"] == pytest.approx(150.0)
    revenue = {m["currency"]: (m["amount"], m["orders"]) for m in a["recovered_revenue"]}
    assert revenue == {"EUR": ("252.50", 5), "RUB": ("15000.00", 15)}

    cart = next(f for f in body["flows"] if f["flow"] == "cart")
    assert (cart["chains"], cart["sent"], cart["recovered"]) == (120, 120, 41)
    assert {m["currency"]: m["amount"] for m in cart["recovered_revenue"]} == {
        "EUR": "252.50",
        "RUB": "36000.00",
    }


async def test_last_touch_attribution_and_window(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    body = await report(client, **PERIOD)
    first = by_variant(body, "payment", "first")[""]
    second = by_variant(body, "payment", "second")[""]
    assert (first["sent"], first["recovered"], first["replied"]) == (4, 2, 1)
    assert (second["sent"], second["recovered"]) == (2, 1)
    payment = next(f for f in body["flows"] if f["flow"] == "payment")
    assert [s["step"] for s in payment["steps"]] == ["first", "second"]
    assert (payment["chains"], payment["recovered"]) == (4, 3)
    assert payment["recovery_rate"]["value"] == 0.75
    assert all(s["comparisons"] == [] and s["control"] is None for s in payment["steps"])


async def test_ab_flags_only_the_significantly_worse_variant(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    body = await report(client, **PERIOD)
    step = body["flows"][0]["steps"][0]
    assert (body["flows"][0]["flow"], step["step"], step["control"]) == ("cart", "reminder", "A")
    comparisons = {c["variant"]: c for c in step["comparisons"]}
    b, c = comparisons["B"], comparisons["C"]
    assert (b["control_sent"], b["control_recovered"], b["variant_sent"]) == (40, 20, 40)
    assert b["variant_recovered"] == 5
    assert b["z"] == pytest.approx(-3.6181, abs=1e-3)
    assert b["p_value"] == pytest.approx(0.000297, abs=2e-5)
    assert b["worse"] and b["significant"]
    assert c["z"] == pytest.approx(-0.8989, abs=1e-3)
    assert c["p_value"] == pytest.approx(0.3687, abs=1e-3)
    assert not c["worse"] and not c["significant"]
    assert body["flagged"] == ["cart/reminder/B"]


async def test_conversation_figures(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    conv = (await report(client, **PERIOD))["conversations"]
    assert {k: conv[k] for k in ("active", "escalated", "deflected")} == {
        "active": 9,
        "escalated": 4,
        "deflected": 5,
    }
    assert (conv["resolved_by_operator"], conv["resolved_by_bot"]) == (2, 3)
    assert conv["median_first_answer_seconds"] == pytest.approx(150.0)
    assert conv["deflection_rate"]["value"] == pytest.approx(5 / 9)


async def test_flow_filter_and_empty_period(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    body = await report(client, flow="payment", **PERIOD)
    assert [f["flow"] for f in body["flows"]] == ["payment"]
    empty = await report(client, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert empty["flows"] == [] and empty["flagged"] == []
    assert empty["conversations"]["active"] == 0
    assert empty["conversations"]["handoff_rate"]["value"] is None


async def test_daily_series(client: Client) -> None:
    await seed(client.app[SESSIONS], scenario())
    response = await client.get(
        "/api/v1/reports/timeseries",
        params={"from": "2026-03-01", "to": "2026-03-03"},
        headers=AUTH,
    )
    assert response.status == 200, await response.text()
    days = {d["day"]: d for d in (await response.json())["days"]}
    assert sorted(days) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    first = days["2026-03-01"]
    assert (first["sent"], first["recovered"], first["replied"]) == (124, 43, 9)
    assert (first["opted_out"], first["handoffs"]) == (3, 4)
    assert first["opt_out_rate"] == pytest.approx(3 / 124)
    assert (days["2026-03-02"]["sent"], days["2026-03-02"]["recovered"]) == (2, 1)
    assert days["2026-03-03"]["sent"] == 0 and days["2026-03-03"]["handoff_rate"] is None
