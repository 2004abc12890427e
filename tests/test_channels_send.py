"""Sending through the real clients to the fake providers over loopback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app_keys import CLOCK, OUTBOUND, SESSIONS
from bot.channels.base import Button, OutboundMessage
from bot.channels.fakes.twilio import twilio_error
from bot.channels.fakes.whatsapp import Scripted, graph_error
from bot.store.models import Message
from tests.channels_fixtures import add_contact, fakes, message_row, received, service, wait_for

__all__ = ["received", "service"]
BUTTONS = (Button("pay", "Оплатить"), Button("help", "Нужна помощь с оплатой заказа"))


async def test_whatsapp_buttons_and_statuses(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    sent = await service.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Hi", BUTTONS))
    assert sent.result.outcome == "sent"
    request = fakes(service).whatsapp.sent[-1]["body"]
    assert request["to"] == "79161234567" and request["type"] == "interactive"
    titles = [b["reply"]["title"] for b in request["interactive"]["action"]["buttons"]]
    assert titles == ["Оплатить", "Нужна помощь с опла…"] and all(len(t) <= 20 for t in titles)

    async def read() -> bool:
        return (await message_row(service, sent.message_id)).status == "read"

    await wait_for(read, "signed status callbacks from the fake reach the message")
    row = await message_row(service, sent.message_id)
    assert row.provider_message_id == sent.result.provider_message_id


async def test_whatsapp_more_than_three_buttons_and_templates(
    service: TestClient[Any, Any],
) -> None:
    contact = await add_contact(service)
    outbound = service.app[OUTBOUND]
    four = tuple(Button(f"p{i}", f"Option {i}") for i in range(4))
    assert (
        await outbound.send(contact, "whatsapp", OutboundMessage("Pick", four))
    ).result.outcome == "sent"
    body = fakes(service).whatsapp.sent[-1]["body"]
    assert body["type"] == "text" and "4. Option 3" in body["text"]["body"]
    template = OutboundMessage(
        "x", BUTTONS[:1], template="cart_reminder", template_params=("Anna",)
    )
    assert (await outbound.send(contact, "whatsapp", template)).result.outcome == "sent"
    body = fakes(service).whatsapp.sent[-1]["body"]
    assert body["template"]["name"] == "cart_reminder" and body["template"]["language"] == {
        "code": "ru"
    }
    kinds = [c["type"] for c in body["template"]["components"]]
    assert kinds == ["body", "button"]


async def test_not_on_whatsapp_is_no_account(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    response = await service.post(
        "/sandbox/providers/whatsapp/unavailable", json={"to": contact.phone}
    )
    assert response.status == 200
    assert (
        await service.post("/sandbox/providers/whatsapp/unavailable", json={"to": "7916"})
    ).status == 422
    sent = await service.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Hi"))
    assert sent.result.outcome == "no_account" and sent.result.error_code == "131026"
    assert fakes(service).whatsapp.attempts["79161234567"] == 1
    row = await message_row(service, sent.message_id)
    assert row.status == "failed" and row.error_code == "131026"


async def test_429_with_retry_after_and_5xx_are_retried(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    fake = fakes(service).whatsapp
    fake.script["79161234567"] = [
        Scripted(429, graph_error(130429, "Rate limit hit"), {"Retry-After": "0"}),
        Scripted(503, graph_error(131016, "Service unavailable")),  # documented: not processed
    ]
    sent = await service.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Hi"))
    assert sent.result.outcome == "sent"
    assert fake.attempts["79161234567"] == 3


async def test_permanent_errors_are_not_retried(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    fake = fakes(service).whatsapp
    fake.script["79161234567"] = [Scripted(400, graph_error(131047, "Re-engagement message"))]
    sent = await service.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Hi"))
    assert sent.result.outcome == "failed" and sent.result.error_code == "131047"
    assert fake.attempts["79161234567"] == 1
    row = await message_row(service, sent.message_id)
    assert row.error_reason is not None and "24 hours" in row.error_reason


async def test_timeout_is_unknown_and_not_resent(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    fake = fakes(service).whatsapp
    fake.script["79161234567"] = [Scripted(200, {"messages": [{"id": "wamid.late"}]}, delay=1.5)]
    sent = await service.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Hi"))
    assert sent.result.outcome == "unknown"
    assert fake.attempts["79161234567"] == 1
    assert (await message_row(service, sent.message_id)).status == "unknown"


async def test_sms_segments_stop_and_status_callbacks(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service)
    outbound = service.app[OUTBOUND]
    text = "Ваша корзина ждёт: " + "x" * 60  # Cyrillic: the whole text is UCS-2
    sent = await outbound.send(contact, "sms", OutboundMessage(text, BUTTONS))
    assert sent.result.outcome == "sent" and sent.result.provider_message_id.startswith("SM")
    assert fakes(service).twilio.sent[-1]["body"].endswith("2. Нужна помощь с оплатой заказа")
    row = await message_row(service, sent.message_id)
    assert row.segments == 2  # UCS-2: 126 units with the numbered options → 67 + 59

    async def delivered() -> bool:
        return (await message_row(service, sent.message_id)).status == "delivered"

    await wait_for(delivered, "signed Twilio status callbacks reach the message")
    assert await fakes(service).twilio.deliver(contact.phone or "", "STOP") == 200
    again = await outbound.send(contact, "sms", OutboundMessage("hello"))
    assert again.result.outcome == "failed" and again.result.error_code == "21610"
    assert fakes(service).twilio.attempts[contact.phone or ""] == 2


async def test_sms_429_retried_and_30007_not(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service, phone="+12025550123")
    fake = fakes(service).twilio
    fake.script["+12025550123"] = [
        Scripted(429, twilio_error(20429, "Too Many Requests", 429), {"Retry-After": "0"}),
        Scripted(400, twilio_error(30007, "Message filtered", 400)),
    ]
    sent = await service.app[OUTBOUND].send(contact, "sms", OutboundMessage("Hi"))
    assert sent.result.outcome == "failed" and sent.result.error_code == "30007"
    assert "spam" in (sent.result.error_reason or "")
    assert fake.attempts["+12025550123"] == 2


async def test_telegram_inline_keyboard_blocked_and_retry(service: TestClient[Any, Any]) -> None:
    contact = await add_contact(service, phone=None, chat="4242")
    outbound = service.app[OUTBOUND]
    sent = await outbound.send(contact, "telegram", OutboundMessage("Привет", BUTTONS))
    assert sent.result.outcome == "sent"
    markup = fakes(service).telegram.sent[-1]["reply_markup"]
    assert [row[0]["callback_data"] for row in markup["inline_keyboard"]] == ["pay", "help"]
    fake = fakes(service).telegram
    fake.script["4242"] = [
        Scripted(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},  # Telegram never says 0
            },
        ),
    ]
    assert (
        await outbound.send(contact, "telegram", OutboundMessage("again"))
    ).result.outcome == "sent"
    fake.blocked.add("4242")
    blocked = await outbound.send(contact, "telegram", OutboundMessage("x"))
    assert blocked.result.outcome == "failed" and blocked.result.error_code == "blocked"


async def test_sends_interrupted_by_a_crash_are_flagged_unknown(
    service: TestClient[Any, Any],
) -> None:
    contact = await add_contact(service)
    now = service.app[CLOCK].now()
    async with service.app[SESSIONS].begin() as session:
        for minutes in (60, 1):
            session.add(
                Message(
                    contact_id=contact.id,
                    direction="out",
                    channel="whatsapp",
                    text="x",
                    status="sending",
                    created_at=now - timedelta(minutes=minutes),
                )
            )
    assert await service.app[OUTBOUND].flag_interrupted() == 1
    async with service.app[SESSIONS]() as session:
        statuses = sorted((await session.scalars(select(Message.status))).all())
    assert statuses == ["sending", "unknown"]  # the recent one may still be in flight elsewhere
