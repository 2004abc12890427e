"""Shopify payloads shaped like the documented webhooks, and a signed sender."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.integrations.shopify import sign

SECRET = "shpss_test_webhook_secret"
FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
CUSTOMER = "shopify:7254361800507"
_ids = itertools.count(1)


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return copy.deepcopy(data)


async def deliver(
    client: TestClient[Any, Any],
    topic: str,
    body: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    secret: str = SECRET,
    signature: str | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(secret, raw),
        "X-Shopify-Shop-Domain": "nudge-demo.myshopify.com",
        "X-Shopify-API-Version": "2024-10",
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-bdd9-4b37-8a5f-bf7d70bc{next(_ids):04d}",
    }
    response = await client.post("/integrations/shopify/webhooks", data=raw, headers=headers)
    return response.status, await response.json()
