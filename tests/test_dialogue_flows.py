"""Every reply flow through the public surface: events API + /sandbox/inbound (R-RP3)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.dialogue_fixtures import conversation, post_events, say, shopper, texts
from tests.factory import consent, payment_failed
from tests.touches_fixtures import Shop

Client = TestClient[Any, Any]


async def test_payment_help_lists_the_shops_methods_and_a_fresh_link(client: Client) -> None:
    await shopper(client)
    result = await say(client, button="payment_help")
    assert result["handled_by"] == "bot"
    assert result["intent"] == "payment"
    [reply] = result["replies"]
    assert "СБП" in reply["text"] and "при получении" in reply["text"]
    assert "https://shop.example/checkout/k1" in reply["text"]
    assert reply["to"] == "+79161234567" and reply["channel"] == "whatsapp"
    assert reply["buttons"] == ["Доставка", "Вопрос менеджеру"]


async def test_payment_link_prefers_the_pay_url_of_a_failed_payment(client: Client) -> None:
    await shopper(client)
    await post_events(
        client,
        payment_failed(reason="insufficient_funds", pay_url="https://pay.example/retry/77"),
    )
    result = await say(client, button="pay")
    assert "https://pay.example/retry/77" in texts(result)


async def test_a_digit_means_the_quick_reply_it_stood_for(client: Client) -> None:
    await shopper(client)
    first = await say(client, button="payment_help")  # offers 1 Доставка, 2 Вопрос менеджеру
    assert first["replies"][0]["buttons"][0] == "Доставка"
    result = await say(client, "1")
    assert result["intent"] == "delivery"
    assert "курьером" in texts(result) and "возврат — 14 дней" in texts(result)


async def test_delivery_lists_options_and_terms_in_the_shoppers_language(client: Client) -> None:
    await shopper(client, language="en")
    result = await say(client, button="delivery_help")
    text = texts(result)
    assert "courier, 350 RUB, free from 5 000 RUB, 1–2 days" in text
    assert "pick-up point, free" in text and "returns within 14 days" in text


async def test_discount_applies_a_configured_promotion_when_the_checkout_matches(
    client: Client,
) -> None:
    await shopper(client)  # 6860 RUB at payment: SPRING5 (from 5000 RUB) applies
    result = await say(client, button="discount")
    assert "SPRING5" in texts(result)


async def test_discount_never_invents_a_promotion(client: Client) -> None:
    await shopper(client, total="1200.00")
    result = await say(client, button="discount")
    text = texts(result)
    assert "SPRING5" not in text and "%" not in text
    assert "акций нет" in text


async def test_opt_out_confirms_once_revokes_every_channel_and_records_it(client: Client) -> None:
    await shopper(client)
    await post_events(
        client,
        consent(channel="sms"),
    )
    result = await say(client, "СТОП")
    assert result["intent"] == "opt_out"
    assert len(result["replies"]) == 1 and "больше не будем писать" in texts(result)
    again = await say(client, "stop")
    assert again["replies"] == []
    timeline = await _audit(client)
    assert "opted_out" in timeline


async def test_yes_sends_the_resume_link_and_no_stops_reminders(client: Client) -> None:
    await shopper(client)
    shop = Shop(client)
    await shop.advance(minutes=30)  # touch 1 arrives
    result = await say(client, button="resume")
    assert "https://shop.example/checkout/k1" in texts(result)
    declined = await say(client, button="close")
    assert "больше не напоминаем" in texts(declined)
    assert (await conversation(client))["state"] == "bot"
    await shop.advance(days=3)  # touches 2 and 3 were due: none is sent
    assert [o["touch"]["step"] for o in await shop.outbox("c1")] == ["touch_1"]


async def test_card_data_is_redacted_and_the_shopper_warned(client: Client) -> None:
    await shopper(client)
    result = await say(client, "вот карта 4111 1111 1111 1111 cvv 123")
    assert "никогда не присылайте данные карты" in texts(result)
    stored = await _stored_inbound(client)
    assert "4111" not in stored and "123" not in stored


async def test_unknown_sender_is_delivered_and_welcomed(client: Client) -> None:
    response = await client.post(
        "/sandbox/inbound", json={"channel": "whatsapp", "from": "+10000000000", "text": "hi"}
    )
    assert response.status == 200
    [reply] = (await response.json())["replies"]
    assert reply["to"] == "+10000000000" and reply["buttons"][0] == "Order status"


async def test_bad_inbound_bodies_name_the_problem(client: Client) -> None:
    cases = [
        ({"channel": "fax", "from": "+1", "text": "x"}, "channel"),
        ({"channel": "sms", "text": "x"}, "from"),
        ({"channel": "sms", "from": "+1"}, "text or button"),
        ({"channel": "sms", "from": "+1", "text": 5}, "text must be a string"),
    ]
    for body, needle in cases:
        response = await client.post("/sandbox/inbound", json=body)
        assert response.status == 422
        assert needle in (await response.json())["error"]
    response = await client.post("/sandbox/inbound", data=b"not json")
    assert response.status == 400  # unreadable JSON is a 400 on every endpoint (R-PS6)
    assert "JSON" in (await response.json())["error"]


async def _audit(client: Client) -> str:
    from sqlalchemy import select

    from bot.app_keys import SESSIONS
    from bot.store.models import AuditEntry

    async with client.app[SESSIONS]() as session:
        rows = (await session.scalars(select(AuditEntry.action))).all()
    return " ".join(rows)


async def _stored_inbound(client: Client) -> str:
    from sqlalchemy import select

    from bot.app_keys import SESSIONS
    from bot.store.models import Message

    async with client.app[SESSIONS]() as session:
        rows = (await session.scalars(select(Message.text).where(Message.direction == "in"))).all()
    return " ".join(rows)


async def test_messages_of_one_shopper_are_handled_one_at_a_time(client: Client) -> None:
    await shopper(client)
    results = await asyncio.gather(*(say(client, button="payment_help") for _ in range(6)))
    assert all(r["handled_by"] == "bot" and len(r["replies"]) == 1 for r in results)
    from bot.app_keys import SESSIONS
    from bot.store.models import Conversation, Message

    async with client.app[SESSIONS]() as session:
        conversations = (await session.scalars(select(Conversation.id))).all()
        inbound = (await session.scalars(select(Message.id).where(Message.direction == "in"))).all()
    assert len(conversations) == 1 and len(inbound) == 6


async def test_a_provider_retry_of_the_same_message_is_answered_once(client: Client) -> None:
    await shopper(client)
    from bot.app_keys import CLOCK, INBOUND_HANDLER
    from bot.channels.base import InboundMessage

    message = InboundMessage(
        channel="whatsapp",
        address="+79161234567",
        provider_message_id="wamid.same-one",
        received_at=client.app[CLOCK].now(),
        button_payload="delivery_help",
    )
    first = await client.app[INBOUND_HANDLER](message)
    again = await client.app[INBOUND_HANDLER](message)
    assert len(first.message_ids) == 1
    assert again.message_ids == () and again.outcome == "duplicate"


async def test_sandbox_endpoints_are_404_outside_sandbox_mode(
    aiohttp_client: Any, settings: Any, clock: Any
) -> None:
    from dataclasses import replace

    from bot.app import create_app

    live = replace(settings, sandbox=False)
    client = await aiohttp_client(create_app(live, clock=clock, run_nlu=False, run_scheduler=False))
    body = {"channel": "whatsapp", "from": "+79161234567", "text": "1"}
    assert (await client.post("/sandbox/inbound", json=body)).status == 404
    assert (await client.get("/sandbox/conversations/c1")).status == 404


def test_reply_flows_and_shop_settings_validate(tmp_path: Any) -> None:
    import shutil
    from pathlib import Path

    from flows.replies import validate_replies

    root = Path(__file__).resolve().parent.parent
    assert validate_replies(root) == []
    copy = tmp_path / "bot"
    shutil.copytree(root / "flows", copy / "flows")
    shutil.copy(root / "domain.yml", copy / "domain.yml")
    broken = copy / "flows" / "replies" / "replies.yml"
    broken.write_text(
        broken.read_text()
        .replace("do: delivery_info", "do: teleport")
        .replace("reply: utter_reply_clarify", "reply: utter_nowhere")
    )
    problems = validate_replies(copy)
    assert any("replies.yml:" in p and "flows.delivery.do" in p for p in problems)
    assert any("utter_nowhere" in p and "not in domain.yml" in p for p in problems)


def test_a_broken_edit_keeps_the_old_reply_flows_running(tmp_path: Any) -> None:
    import os
    import shutil
    from pathlib import Path

    from flows.designer import DesignerFiles

    root = Path(__file__).resolve().parent.parent
    copy = tmp_path / "bot"
    shutil.copytree(root / "flows", copy / "flows")
    shutil.copy(root / "domain.yml", copy / "domain.yml")
    cache = DesignerFiles(copy)
    before = cache.reply_book()
    shop = copy / "flows" / "shop.yml"
    shop.write_text(shop.read_text().replace('min_total: "5000"', 'min_total: "lots"'))
    os.utime(shop, (1, 1))
    assert cache.reply_book() is before
    assert any("shop.yml" in p and "min_total" in p for p in cache.problems)
    shop.write_text(shop.read_text().replace('min_total: "lots"', 'min_total: "100"'))
    os.utime(shop, (2, 2))
    after = cache.reply_book()
    assert after is not before and after.shop.promotions[0].min_total == 100
