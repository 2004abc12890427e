"""Report API parameters, OpenAPI entry, payment attribution listener and its metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app_keys import SESSIONS
from bot.reports.stats import two_proportion_z, wilson
from bot.store.models import Chain, Touch
from tests.conftest import AUTH
from tests.factory import checkout_updated, order_paid
from tests.reports_fixtures import chain_of_c1

Client = TestClient[Any, Any]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAID = NOW - timedelta(minutes=5)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-03-01T10:00:00"}, "from"),  # no offset
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),  # more than 366 days
        ({"flow": "cart; drop table"}, "flow"),
        ({"flows": "cart"}, "flows"),
        ({"from": "1900-01-01T00:00:00Z"}, "from"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: Client, params: dict[str, str], name: str
) -> None:
    for path in ("/api/v1/reports/recovery", "/api/v1/reports/timeseries"):
        response = await client.get(path, params=params, headers=AUTH)
        assert response.status == 422
        assert (await response.json())["error"].startswith(f"{name}:")


async def test_defaults_and_accepted_forms(client: Client) -> None:
    body = await (await client.get("/api/v1/reports/recovery", headers=AUTH)).json()
    assert body["period_to"].startswith("2026-03-02T09:00:00")  # the sandbox clock's now
    assert body["period_from"].startswith("2026-01-31T09:00:00")
    params = {"from": "2026-03-01T12:00:00+03:00", "to": "2026-03-02T00:00:00Z", "flow": "cart"}
    response = await client.get("/api/v1/reports/timeseries", params=params, headers=AUTH)
    series = await response.json()
    assert series["period_from"].startswith("2026-03-01T09:00:00") and series["flow"] == "cart"
    assert [d["day"] for d in series["days"]] == ["2026-03-01"]


async def test_openapi_documents_the_reports(client: Client) -> None:
    spec = await (await client.get("/api/openapi.json")).json()
    recovery = spec["paths"]["/api/v1/reports/recovery"]["get"]
    assert {p["name"] for p in recovery["parameters"]} == {"from", "to", "flow"}
    assert set(recovery["responses"]) == {"200", "401", "422"}
    assert "/api/v1/reports/timeseries" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"RecoveryReport", "VariantReport", "Comparison", "Rate", "TimeSeries"} <= set(schemas)


def test_statistics_against_known_values() -> None:
    interval = wilson(0, 10)
    assert interval.value == 0 and interval.low == 0
    assert interval.high == pytest.approx(0.27753, 1e-4)
    assert wilson(0, 0).value is None
    assert two_proportion_z(0, 10, 0, 10).p_value == 1.0
    test = two_proportion_z(50, 100, 65, 100)
    assert test.z == pytest.approx(2.1456, abs=1e-3)
    assert test.p_value == pytest.approx(0.0319, abs=1e-3)


async def _chain_with_touch(client: Client, sent_at: datetime) -> int:
    """The events API made contact c1 and checkout k1; the touches part would add these."""
    async with client.app[SESSIONS].begin() as session:
        chain = await chain_of_c1(session, "control", sent_at)
        session.add(
            Touch(
                chain_id=chain.id,
                contact_id=chain.contact_id,
                flow="payment",
                step="first",
                variant="control",
                due_at=sent_at,
                status="sent",
                sent_at=sent_at,
                created_at=sent_at,
            )
        )
        return int(chain.id)


async def _post(client: Client, event: dict[str, Any]) -> None:
    response = await client.post("/api/v1/events", json=event, headers=AUTH)
    assert response.status == 202, await response.text()


@pytest.mark.parametrize(("hours_before", "recovered"), [(71, True), (73, False)])
async def test_order_paid_marks_chain_recovered_within_window(
    client: Client, hours_before: int, recovered: bool
) -> None:
    await _post(client, checkout_updated(stage="payment", when=NOW - timedelta(hours=80)))
    chain_id = await _chain_with_touch(client, PAID - timedelta(hours=hours_before))
    paid = order_paid(when=PAID, total="6860.00")
    await _post(client, paid)
    await _post(client, {**paid, "id": "paid-again"})  # a resent payment is not a second one
    async with client.app[SESSIONS]() as session:
        chain = await session.get(Chain, chain_id)
    assert chain is not None
    metrics = await (await client.get("/metrics")).text()
    if recovered:
        assert chain.recovered_at == PAID and str(chain.recovered_amount) == "6860.00"
        assert 'nudge_recovered_total{flow="payment"} 1.0' in metrics
        assert 'nudge_recovered_revenue_total{currency="RUB"} 6860.0' in metrics
    else:
        assert chain.recovered_at is None and chain.recovered_amount is None
        assert 'nudge_recovered_total{flow="payment"}' not in metrics


async def test_report_requests_are_timed_in_metrics(client: Client) -> None:
    await client.get("/api/v1/reports/recovery", headers=AUTH)
    metrics = await (await client.get("/metrics")).text()
    assert 'nudge_report_seconds_count{report="RecoveryReport"} 1.0' in metrics
