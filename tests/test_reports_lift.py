"""Holdout lift in the report (R-MX3): known outcomes give the exact lift and interval."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app_keys import SESSIONS
from bot.reports.stats import newcombe
from tests.conftest import AUTH
from tests.reports_fixtures import ChainSpec, TouchSpec, seed

Client = TestClient[Any, Any]
PERIOD = {"from": "2026-03-01", "to": "2026-03-02"}


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090)],
)
def test_lift_interval_matches_newcombes_published_examples(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    interval = newcombe(x1, n1, x2, n2)
    assert interval.value == pytest.approx(x1 / n1 - x2 / n2)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def _chains(flow: str, variant: str, count: int, paid: int, holdout: bool) -> list[ChainSpec]:
    touches = [] if holdout else [TouchSpec("reminder", 0)]
    return [
        ChainSpec(flow, variant, list(touches), paid_at=2 if i < paid else None, holdout=holdout)
        for i in range(count)
    ]


def lift_scenario() -> list[ChainSpec]:
    specs = _chains("cart", "A", 100, 30, holdout=False)
    specs += _chains("cart", "B", 100, 20, holdout=False)
    specs += _chains("cart", "A", 60, 6, holdout=True)
    specs += _chains("cart", "B", 40, 4, holdout=True)
    specs += _chains("payment", "control", 12, 5, holdout=False)
    specs += _chains("payment", "control", 3, 1, holdout=True)
    # paid after the attribution window: not recovered in either group
    specs.append(ChainSpec("cart", "A", [], paid_at=80, holdout=True))
    return specs


async def _report(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/recovery", params=PERIOD, headers=AUTH)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_report_gives_the_exact_lift_over_the_holdout(client: Client) -> None:
    await seed(_sessions(client), lift_scenario())
    body = await _report(client)
    cart = next(f for f in body["flows"] if f["flow"] == "cart")
    overall = cart["holdout"]["overall"]
    expected = newcombe(50, 200, 10, 101)
    assert (overall["messaged_chains"], overall["messaged_recovered"]) == (200, 50)
    assert (overall["holdout_chains"], overall["holdout_recovered"]) == (101, 10)
    assert overall["messaged_rate"]["value"] == pytest.approx(0.25)
    assert overall["holdout_rate"]["value"] == pytest.approx(10 / 101)
    assert overall["lift"] == pytest.approx(expected.value)
    assert overall["lift_low"] == pytest.approx(expected.low)
    assert overall["lift_high"] == pytest.approx(expected.high)
    assert overall["verdict"] == "lift"
    assert expected.low is not None and expected.high is not None
    [revenue] = overall["incremental_revenue"]
    assert revenue["currency"] == "RUB"
    # the lift × 200 messaged chains × the average recovered order (1000 RUB), inside its interval
    assert expected.value is not None
    assert Decimal(revenue["amount"]) == Decimal(expected.value * 200 * 1000).quantize(
        Decimal("0.01")
    )
    assert Decimal(revenue["low"]) <= Decimal(revenue["amount"]) <= Decimal(revenue["high"])
    assert Decimal(revenue["low"]) == Decimal(expected.low * 200 * 1000).quantize(Decimal("0.01"))
    assert Decimal(revenue["high"]) == Decimal(expected.high * 200 * 1000).quantize(Decimal("0.01"))

    by_variant = {v["variant"]: v for v in cart["holdout"]["variants"]}
    assert set(by_variant) == {"A", "B"}
    b = by_variant["B"]
    expected_b = newcombe(20, 100, 10, 101)
    assert (b["messaged_chains"], b["messaged_recovered"], b["holdout_chains"]) == (100, 20, 101)
    assert b["lift"] == pytest.approx(expected_b.value)
    assert b["lift_low"] == pytest.approx(expected_b.low)
    assert b["verdict"] == ("lift" if (expected_b.low or 0) > 0 else "no_clear_difference")

    payment = next(f for f in body["flows"] if f["flow"] == "payment")
    small = payment["holdout"]["overall"]
    assert (small["messaged_chains"], small["holdout_chains"]) == (12, 3)
    assert small["verdict"] == "too_small"
    assert "Too small to tell" in small["summary"]


async def test_a_flow_without_held_out_chains_says_so(client: Client) -> None:
    await seed(_sessions(client), _chains("cart", "A", 5, 2, holdout=False))
    cart = next(f for f in (await _report(client))["flows"] if f["flow"] == "cart")
    assert cart["holdout"]["overall"]["verdict"] == "no_holdout"
    assert cart["holdout"]["overall"]["lift"] is None


def _sessions(client: Client) -> Any:
    return client.app[SESSIONS]
