"""WhatsApp → SMS fallback from a later `failed` status, through the whole policy (R-SR7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app_keys import FAKES, SESSIONS
from bot.store.models import Contact, Conversation
from tests.channels_fixtures import wait_for
from tests.factory import START, consent
from tests.touches_fixtures import Shop

PHONE = "+79160000001"


async def _touch_steps(shop: Shop, cid: str) -> list[tuple[str, str]]:
    return [(o["channel"], o["touch"]["step"]) for o in await shop.outbox(cid)]


async def test_failed_status_falls_back_and_number_is_remembered(client: Any) -> None:
    """131026 in a later status webhook: the touch goes by SMS; later touches go straight
    to SMS, WhatsApp is not tried again."""
    fakes = client.app[FAKES]
    fakes.target = str(client.make_url("")).rstrip("/")
    fakes.whatsapp.unavailable_async = True  # accepted at once, `failed` status later
    shop = Shop(client)
    await shop.start("c1", phone=PHONE)
    await shop.post(consent("c1", "sms", phone=PHONE))
    response = await client.post("/sandbox/providers/whatsapp/unavailable", json={"to": PHONE})
    assert response.status == 200
    await shop.advance(minutes=30)

    async def fell_back() -> bool:  # the status arrives on its own; the clock moves on
        await shop.advance(seconds=1)
        return ("sms", "touch_1") in await _touch_steps(shop, "c1")

    await wait_for(fell_back, "touch 1 went again by SMS after the failed status", limit=30)
    assert await _touch_steps(shop, "c1") == [("whatsapp", "touch_1"), ("sms", "touch_1")]
    async with client.app[SESSIONS]() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == "c1"))
    assert contact is not None and contact.whatsapp_missing_at is not None
    await shop.advance(days=2)
    assert await _touch_steps(shop, "c1") == [
        ("whatsapp", "touch_1"),
        ("sms", "touch_1"),
        ("sms", "touch_2"),
        ("sms", "touch_3"),
    ]
    assert fakes.whatsapp.attempts[PHONE.lstrip("+")] == 1
    rules = [e["rule"] for e in await shop.timeline("c1")]
    assert "R-SR7 not on WhatsApp" in rules and "R-SR7 fallback WhatsApp to SMS" in rules


async def test_fallback_sms_keeps_the_us_one_sms_rule(client: Any) -> None:
    """+1 without WhatsApp: touch 1 falls back to SMS; no further recovery SMS (R-SR10)."""
    phone = "+12125550100"
    person = {"phone": phone, "timezone": "America/New_York", "language": "en"}
    shop = Shop(client)
    await shop.advance(hours=6)  # 15:00Z = 10:00 New York
    await shop.start("us", when=START.replace(hour=15), **person)
    await shop.post(consent("us", "sms", START.replace(hour=15), **person))
    async with client.app[SESSIONS].begin() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == "us"))
        assert contact is not None
        session.add(  # the shopper wrote on WhatsApp: free text, not a marketing template
            Conversation(
                contact_id=contact.id,
                state="bot",
                misunderstood=0,
                last_inbound_at=START.replace(hour=15),
                last_channel="whatsapp",
                updated_at=START.replace(hour=15),
            )
        )
    response = await client.post("/sandbox/providers/whatsapp/unavailable", json={"to": phone})
    assert response.status == 200
    await shop.advance(days=3)
    steps = await _touch_steps(shop, "us")
    assert [c for c, _ in steps].count("sms") == 1
    assert steps[:2] == [("whatsapp", "touch_1"), ("sms", "touch_1")]
    rules = [e["rule"] for e in await shop.timeline("us")]
    assert "R-SR10 US/CA one recovery SMS" in rules
