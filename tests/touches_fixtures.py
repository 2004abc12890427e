"""A harness that reads like the product: post events, move the clock, read the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AUTH
from tests.factory import START, checkout_updated, consent


class Shop:
    """The black-box surface: the events API and the sandbox endpoints."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def post(self, *events: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/events", json={"events": list(events)}, headers=AUTH
        )
        body: dict[str, Any] = await response.json()
        assert response.status == 202, body
        assert all(r["status"] == "accepted" for r in body["results"]), body
        return body

    async def clock(self, **body: Any) -> Any:
        response = await self.client.post("/sandbox/clock", json=body)
        assert response.status == 200, await response.text()
        return (await response.json())["now"]

    async def advance(self, **delta: float) -> Any:
        return await self.clock(advance_seconds=timedelta(**delta).total_seconds())

    async def set(self, moment: datetime) -> Any:
        return await self.clock(set=moment.isoformat())

    async def outbox(self, cid: str, touches_only: bool = True) -> list[dict[str, Any]]:
        """Messages sent to the contact; by default only proactive touches."""
        response = await self.client.get("/sandbox/outbox", params={"contact_id": cid})
        assert response.status == 200
        items: list[dict[str, Any]] = await response.json()
        return [i for i in items if i["touch"] is not None or not touches_only]

    async def timeline(self, cid: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/contacts/{cid}/timeline", headers=AUTH)
        assert response.status == 200, await response.text()
        entries: list[dict[str, Any]] = (await response.json())["entries"]
        return entries

    async def start(
        self,
        cid: str,
        channel: str = "whatsapp",
        stage: str = "cart",
        kid: str = "k1",
        when: datetime = START,
        **person: Any,
    ) -> None:
        await self.post(
            consent(cid, channel, when, **person),
            checkout_updated(cid, kid, stage=stage, when=when, **person),
        )
