"""retailCRM sync (R-IN3) against a fake retailCRM API v5 on loopback."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import AppliedEvent
from bot.api.schemas import OrderStatusChanged
from bot.app import create_app
from bot.app_keys import EVENT_LISTENERS, SCHEDULER, SESSIONS
from bot.channels.fakes.loopback import LoopbackServer
from bot.clock import SandboxClock
from bot.integrations.fakes.retailcrm import FakeRetailCrm
from bot.integrations.retailcrm import translate
from bot.integrations.setup import RETAILCRM_SYNC
from bot.settings import PROJECT_ROOT
from bot.store.models import Checkout, Contact, Event, IntegrationCursor
from tests.conftest import AUTH, make_settings
from tests.factory import consent
from tests.reports_fixtures import seed
from tests.test_reports_economics import PERIOD, scenario
from tests.touches_fixtures import Shop

KEY = "retailcrm-test-key"
CUSTOMER = "retailcrm:55"


def _order(order_id: int = 1001, status: str = "new") -> dict[str, Any]:
    return {
        "id": order_id,
        "externalId": f"ext-{order_id}",
        "number": f"{order_id}A",
        "site": "nudge-demo",
        "status": status,
        "firstName": "Мария",
        "lastName": "Иванова",
        "phone": "8 (916) 765-43-21",
        "countryIso": "RU",
        "createdAt": "2026-03-02 11:00:00",
        "totalSumm": 4200,
        "customer": {
            "type": "customer",
            "id": 55,
            "externalId": "shop-55",
            "firstName": "Мария",
            "lastName": "Иванова",
            "phones": [{"number": "+79167654321"}],
        },
    }


@pytest.fixture
async def crm() -> AsyncIterator[tuple[FakeRetailCrm, str]]:
    fake = FakeRetailCrm(KEY)
    server = LoopbackServer(fake.app())
    url = await server.start()
    yield fake, url
    await server.stop()


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Any],
    tmp_path: Path,
    db_url: str,
    clock: SandboxClock,
    crm: tuple[FakeRetailCrm, str],
) -> Callable[..., Any]:
    async def build(key: str = KEY) -> TestClient[Any, Any]:
        settings = make_settings(tmp_path, db_url, retailcrm_url=crm[1], retailcrm_api_key=key)
        app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        client.app[RETAILCRM_SYNC].backoff_seconds = 0.01
        return client

    return build


async def _count(client: TestClient[Any, Any], model: Any) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_status_change_sends_the_status_message(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    """Done when: a retailCRM status change sends the status message (flows/shop.yml maps
    `send-to-delivery` to `shipped`); history from before the first sync sends nothing."""
    fake, _ = crm
    fake.add_order(_order())
    fake.change(1001, "status", None, "new", "2026-03-02 11:00:00", full=True)  # before connecting
    client = await make_client()
    sync = client.app[RETAILCRM_SYNC]
    assert client.app[SCHEDULER]._aps.get_job("retailcrm-sync") is not None  # every few minutes
    assert await sync.run() == 0
    shop = Shop(client)
    await shop.post(consent(CUSTOMER, "whatsapp"))
    fake.change(1001, "status", "new", "send-to-delivery", "2026-03-02 12:05:00")
    await shop.advance(minutes=5)
    assert await sync.run() == 1
    assert {r.get("by") for r in fake.requests} >= {"id"}  # the record named the order only
    await shop.advance(minutes=1)
    out = await shop.outbox(CUSTOMER)
    assert [(o["channel"], o["touch"]["step"]) for o in out] == [("whatsapp", "status:shipped")]
    assert "передан в доставку" in out[0]["text"]
    async with client.app[SESSIONS]() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == CUSTOMER))
    assert contact is not None and contact.phone == "+79167654321" and contact.first_name == "Мария"


async def test_pages_advance_by_since_id_and_a_restart_repeats_nothing(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    fake, _ = crm
    client = await make_client()
    assert await client.app[RETAILCRM_SYNC].run() == 0
    for n in range(1, 251):
        fake.add_order(_order(2000 + n))
        fake.change(2000 + n, "status", "new", "delivering", "2026-03-02 12:01:00", full=True)
    fake.requests.clear()
    assert await client.app[RETAILCRM_SYNC].run() == 250
    history = [r for r in fake.requests if "by" not in r]
    assert [r.get("filter[sinceId]") for r in history] == [None, "100", "200"]
    assert all("page" not in r and r["limit"] == "100" for r in history)
    restarted = await make_client()
    fake.requests.clear()
    assert await restarted.app[RETAILCRM_SYNC].run() == 0
    assert [r.get("filter[sinceId]") for r in fake.requests] == ["250"]
    assert await _count(restarted, Event) == 250


async def test_payment_becomes_order_paid(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    fake, _ = crm
    client = await make_client()
    await client.app[RETAILCRM_SYNC].run()
    fake.add_order(_order())
    fake.change(1001, "payments.status", "not-paid", "paid", "2026-03-02 12:01:00", full=True)
    fake.change(1001, "customerComment", None, "позвоните", "2026-03-02 12:02:00", full=True)
    assert await client.app[RETAILCRM_SYNC].run() == 1
    async with client.app[SESSIONS]() as session:
        checkout = await session.scalar(select(Checkout))
    assert checkout is not None and checkout.status == "paid"
    assert checkout.order_id == "retailcrm:1001"


async def test_unavailable_api_backs_off_then_shows_on_health(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    fake, _ = crm
    client = await make_client()
    sync = client.app[RETAILCRM_SYNC]
    fake.unavailable = 2  # two 503s, then answers: the pass retries and succeeds
    await sync.run()
    assert (await (await client.get("/health")).json())["components"]["retailcrm"] == "ok"
    fake.add_order(_order())
    fake.change(1001, "status", "new", "delivering", "2026-03-02 12:01:00", full=True)
    fake.unavailable = 100
    assert await sync.run() == 0
    health = await (await client.get("/health")).json()
    assert health["status"] == "degraded"
    assert health["components"]["retailcrm"].startswith("degraded: ")
    assert "503" in health["components"]["retailcrm"] and KEY not in str(health)
    fake.unavailable = 0
    assert await sync.run() == 1  # nothing was lost meanwhile
    assert (await (await client.get("/health")).json())["components"]["retailcrm"] == "ok"


async def test_refused_key_keeps_the_cursor_and_names_the_error(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    client = await make_client(key="wrong-key")
    assert await client.app[RETAILCRM_SYNC].run() == 0
    async with client.app[SESSIONS]() as session:
        cursor = await session.get(IntegrationCursor, "retailcrm")
    assert cursor is not None and cursor.since_id is None
    assert cursor.last_error is not None and 'Wrong "apiKey" value' in cursor.last_error


async def test_documented_history_page_becomes_events(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    """A page shaped like retailCRM's documented answer: the created record carries the
    whole order (its customer serves the later records), a comment change is no event."""
    fake, _ = crm
    client = await make_client()
    await client.app[RETAILCRM_SYNC].run()
    page = json.loads(
        (Path(__file__).parent / "fixtures/retailcrm/orders_history.json").read_text()
    )
    fake.records = page["history"]
    assert await client.app[RETAILCRM_SYNC].run() == 3
    assert not any(r.get("by") for r in fake.requests)  # no order had to be fetched
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(Event.event_id, Event.type, Event.contact_ref))).all()
    assert sorted(rows) == [
        ("retailcrm:history:9001", "order.status_changed", CUSTOMER),
        ("retailcrm:history:9002", "order.status_changed", CUSTOMER),
        ("retailcrm:history:9004", "order.paid", CUSTOMER),
    ]
    shipped = translate(page["history"][1], page["history"][0]["order"], ZoneInfo("Europe/Moscow"),
                        {"send-to-delivery": "shipped"})  # fmt: skip
    assert shipped is not None and shipped["order"] == {"id": "retailcrm:3001", "status": "shipped"}
    assert shipped["occurred_at"] == "2026-03-02T12:05:00+03:00"
    assert shipped["contact"] == {"id": CUSTOMER, "phone": "+79167654321", "name": "Мария"}


async def test_a_bad_record_is_skipped_and_its_neighbours_applied(
    make_client: Callable[..., Any], crm: tuple[FakeRetailCrm, str]
) -> None:
    fake, _ = crm
    client = await make_client()
    await client.app[RETAILCRM_SYNC].run()
    fake.add_order(_order())
    fake.change(1001, "status", "new", "delivering", "2026-03-02 12:01:00", full=True)
    fake.records[-1]["createdAt"] = "2026-03-02T12:01:00Z"  # not retailCRM's format
    fake.change(1001, "status", "delivering", "complete", "2026-03-02 12:02:00", full=True)
    assert await client.app[RETAILCRM_SYNC].run() == 1
    async with client.app[SESSIONS]() as session:
        cursor = await session.get(IntegrationCursor, "retailcrm")
        status = await session.scalar(select(Event.event_id))
    assert cursor is not None and cursor.since_id == 2 and status == "retailcrm:history:2"


async def test_a_shop_edit_reaches_the_status_map_and_the_report_prices_without_a_restart(
    aiohttp_client: Callable[..., Any],
    tmp_path: Path,
    db_url: str,
    clock: SandboxClock,
    crm: tuple[FakeRetailCrm, str],
) -> None:
    """flows/shop.yml is read through the one holder of designer files: an edit is seen by
    the next sync and the next report of the running service."""
    fake, url = crm
    root = tmp_path / "root"
    shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    settings = make_settings(tmp_path, db_url, retailcrm_url=url, retailcrm_api_key=KEY)
    app = create_app(replace(settings, root=root), clock=clock, run_nlu=False, run_scheduler=False)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    statuses: list[str] = []

    async def record(_session: AsyncSession, applied: Sequence[AppliedEvent]) -> None:
        statuses.extend(a.event.order.status for a in applied
                        if isinstance(a.event, OrderStatusChanged))  # fmt: skip

    client.app[EVENT_LISTENERS].append(record)
    await seed(client.app[SESSIONS], scenario())

    async def cart_cost() -> Decimal:
        response = await client.get("/api/v1/reports/recovery", params=PERIOD, headers=AUTH)
        assert response.status == 200, await response.text()
        body = await response.json()
        cart = next(f for f in body["flows"] if f["flow"] == "cart")
        return Decimal(cart["cost"]["total"])

    sync = client.app[RETAILCRM_SYNC]
    assert await sync.run() == 0
    fake.add_order(_order())
    fake.change(1001, "status", "new", "send-to-delivery", "2026-03-02 12:01:00", full=True)
    assert await sync.run() == 1
    assert statuses == ["shipped"]
    assert await cart_cost() == Decimal("6.50") * 9 + Decimal("2.30")  # 9 RU and 1 US touch

    shop_file = root / "flows" / "shop.yml"
    text = shop_file.read_text(encoding="utf-8")
    assert "send-to-delivery: shipped" in text and 'RU: "6.50"' in text
    text = text.replace("send-to-delivery: shipped", "send-to-delivery: handed_to_courier")
    shop_file.write_text(text.replace('RU: "6.50"', 'RU: "8.00"', 1), encoding="utf-8")
    os.utime(shop_file, (1_000_000, 1_000_000))  # a distinct mtime on any file system

    fake.change(1001, "status", "send-to-delivery", "send-to-delivery", "2026-03-02 12:02:00",
                full=True)  # fmt: skip
    assert await sync.run() == 1
    assert statuses == ["shipped", "handed_to_courier"]
    assert await cart_cost() == Decimal("8.00") * 9 + Decimal("2.30")
