"""A harness that reads like the product: post events, write as the shopper, read the answer."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AUTH
from tests.factory import PHONE, checkout_updated, consent


async def post_events(client: TestClient[Any, Any], *events: dict[str, Any]) -> None:
    response = await client.post("/api/v1/events", json={"events": list(events)}, headers=AUTH)
    assert response.status == 202, await response.text()
    body = await response.json()
    assert all(r["status"] == "accepted" for r in body["results"]), body


async def shopper(
    client: TestClient[Any, Any],
    cid: str = "c1",
    *,
    phone: str = PHONE,
    language: str = "ru",
    stage: str = "payment",
    total: str | None = None,
    kid: str = "k1",
) -> None:
    """A shopper with WhatsApp consent and a checkout (default: stuck at payment)."""
    await post_events(
        client,
        consent(cid, phone=phone, language=language),
        checkout_updated(cid, kid, stage=stage, total=total, phone=phone, language=language),
    )


async def say(
    client: TestClient[Any, Any],
    text: str | None = None,
    *,
    button: str | None = None,
    phone: str = PHONE,
    channel: str = "whatsapp",
) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": channel, "from": phone}
    if button is not None:
        body["button"] = button
    else:
        body["text"] = text
    response = await client.post("/sandbox/inbound", json=body)
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def conversation(client: TestClient[Any, Any], cid: str = "c1") -> dict[str, Any]:
    response = await client.get(f"/sandbox/conversations/{cid}")
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def texts(result: dict[str, Any]) -> str:
    return " | ".join(r["text"] for r in result["replies"])
