"""A closed chat ends that conversation, not the contact's future touches (R-SR5)."""

from __future__ import annotations

from typing import Any

from tests.factory import PHONE, at, checkout_updated, event
from tests.touches_fixtures import Shop


async def close(shop: Shop, cid: str) -> None:
    response = await shop.client.post(f"/sandbox/conversations/{cid}/close")
    assert response.status == 200, await response.text()
    assert (await response.json())["state"] == "closed"
    state = await shop.client.get(f"/sandbox/conversations/{cid}")
    assert (await state.json())["state"] == "closed"


async def reply(shop: Shop, text: str) -> None:
    response = await shop.client.post(
        "/sandbox/inbound", json={"channel": "whatsapp", "from": PHONE, "text": text}
    )
    assert response.status == 200, await response.text()


async def test_new_checkout_after_a_closed_chat_gets_its_touches(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(minutes=30)
    await reply(shop, "Подскажите по доставке")  # a reply pauses the chain
    await close(shop, "c1")
    await shop.advance(hours=50)
    await shop.post(checkout_updated("c1", kid="k2", when=at(hours=50, minutes=30)))
    await shop.advance(minutes=30)
    out = await shop.outbox("c1")
    assert [(o["touch"]["step"], o["sent_at"]) for o in out] == [
        ("touch_1", "2026-03-02T09:30:00Z"),
        ("touch_1", "2026-03-04T12:00:00Z"),
    ]


async def test_order_status_after_a_closed_chat_is_sent(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.post(
        event("order.paid", "c1", at(minutes=5), checkout={"id": "k1"}, order={"id": "A-77"})
    )
    await reply(shop, "Спасибо")
    await close(shop, "c1")
    await shop.post(
        event(
            "order.status_changed", "c1", at(minutes=6), order={"id": "A-77", "status": "shipped"}
        )
    )
    await shop.advance(hours=1)
    steps = [o["touch"]["step"] for o in await shop.outbox("c1")]
    assert steps == ["status:shipped"]


async def test_close_is_sandbox_only_and_names_unknown_contacts(client: Any) -> None:
    response = await client.post("/sandbox/conversations/nobody/close")
    assert response.status == 404
    assert "nobody" in (await response.json())["error"]
