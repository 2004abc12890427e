"""The admin console shows each shop integration: connected, last event or sync, last error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from tests.conftest import make_settings
from tests.shopify_fixtures import SECRET, deliver, payload


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url, shopify_webhook_secret=SECRET)


async def test_admins_see_integration_state_operators_do_not(
    client: Any, staff: dict[str, dict[str, str]]
) -> None:
    denied = await client.get("/console/api/integrations", headers=staff["operator"])
    assert denied.status == 403
    assert (await client.get("/console/api/integrations")).status == 401
    before = await client.get("/console/api/integrations", headers=staff["admin"])
    states = {i["name"]: i for i in (await before.json())["integrations"]}
    assert states["shopify"]["connected"] is True and states["shopify"]["last_event_at"] is None
    assert states["retailcrm"]["connected"] is False
    await deliver(client, "checkouts/create", payload("checkouts_create"))
    after = await client.get("/console/api/integrations", headers=staff["admin"])
    shopify = next(i for i in (await after.json())["integrations"] if i["name"] == "shopify")
    assert shopify["last_event_at"] == "2026-03-02T09:00:00+00:00"
    assert shopify["last_error"] is None
    await deliver(client, "checkouts/create", payload("checkouts_create"), secret="old-secret")
    refused = await client.get("/console/api/integrations", headers=staff["admin"])
    shopify = next(i for i in (await refused.json())["integrations"] if i["name"] == "shopify")
    assert shopify["last_error"] == "HTTP 401: bad or missing X-Shopify-Hmac-Sha256"
    page = await client.get("/console/admin", headers=staff["admin"])
    assert "Shop integrations" in await page.text()
