"""The dashboard and its JSON are for logged-in admins only; the shop API needs a shop key."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app_keys import CLOCK, SESSIONS
from handoff.auth import create_operator
from tests.conftest import AUTH
from tests.reports_fixtures import one, seed

Client = TestClient[Any, Any]
PASSWORD = "correct horse battery"


async def login(client: Client, username: str, role: str) -> None:
    await create_operator(client.app[SESSIONS], username, PASSWORD, role, client.app[CLOCK].now())
    response = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD},
        headers={"Origin": f"http://{client.host}:{client.port}"},
        allow_redirects=False,
    )
    assert response.status == 302


async def test_anonymous_is_sent_to_login_and_api_refused(client: Client) -> None:
    page = await client.get("/console/dashboard", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/console/login"
    api = await client.get("/console/api/reports/recovery")
    assert api.status == 401
    series = await client.get("/console/api/reports/timeseries")
    assert series.status == 401


async def test_operator_without_admin_role_is_refused(client: Client) -> None:
    await login(client, "olga", "operator")
    assert (await client.get("/console/dashboard", allow_redirects=False)).status == 403
    assert (await client.get("/console/api/reports/recovery")).status == 403


async def test_admin_gets_page_and_json(client: Client) -> None:
    await seed(client.app[SESSIONS], [one("cart", "reminder", "A", paid_at=2)])
    await login(client, "boss", "admin")
    page = await client.get("/console/dashboard")
    assert page.status == 200
    assert '<script src="/console/reports-static/dashboard.js">' in await page.text()
    js = await client.get("/console/reports-static/dashboard.js")
    assert js.status == 200 and "drawRecovery" in await js.text()
    params = {"from": "2026-02-01", "to": "2026-03-31"}
    body = await (await client.get("/console/api/reports/recovery", params=params)).json()
    assert body["flows"][0]["recovered"] == 1 and body["shop"] == "default"
    other = await client.get("/console/api/reports/recovery", params={**params, "shop": "x"})
    assert (await other.json())["flows"] == []
    bad = await client.get("/console/api/reports/timeseries", params={"from": "yesterday"})
    assert bad.status == 422 and (await bad.json())["error"].startswith("from:")


async def test_shop_api_needs_its_key(client: Client) -> None:
    for path in ("/api/v1/reports/recovery", "/api/v1/reports/timeseries"):
        assert (await client.get(path)).status == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get(path, headers=wrong)).status == 401
        assert (await client.get(path, headers=AUTH)).status == 200
