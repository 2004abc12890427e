"""Every hand-off rule (R-RP4) through the public surface, and the bot's silence afterwards."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import CLOCK, SESSIONS
from bot.store.models import Consent, Contact
from handoff.queue import release
from tests.dialogue_fixtures import conversation, post_events, say, shopper, texts
from tests.factory import consent, payment_failed
from tests.live_server import free_port

Client = TestClient[Any, Any]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Деньги списали, а заказа нет!", "money_charged_no_order"),
        ("I was charged but there is no order confirmation", "money_charged_no_order"),
        ("курьер не приехал, посылку так и не привезли", "delivery_dispute"),
        ("paczka nie dotarła", "delivery_dispute"),
        ("хочу оформить возврат", "returns"),
        ("我要退货", "returns"),
        ("позовите живого человека", "human_requested"),
        ("can I talk to a human please", "human_requested"),
    ],
)
async def test_risky_messages_go_to_an_operator(client: Client, text: str, reason: str) -> None:
    await shopper(client)
    result = await say(client, text)
    assert result["handled_by"] == "operator"
    assert "коллеге" in texts(result)  # one notice, then silence
    state = await conversation(client)
    assert state == {**state, "state": "waiting_operator", "handoff_reason": reason}


async def test_the_manager_quick_reply_asks_for_a_person(client: Client) -> None:
    await shopper(client)
    result = await say(client, button="manager")
    assert result["handled_by"] == "operator"
    assert (await conversation(client))["handoff_reason"] == "human_requested"


async def test_while_an_operator_owns_the_chat_the_bot_says_nothing(client: Client) -> None:
    await shopper(client)
    await say(client, "хочу вернуть товар")
    for text in ("алло?", "1", "какая доставка?"):
        result = await say(client, text)
        assert result == {**result, "handled_by": "operator", "replies": []}
    assert (await conversation(client))["state"] == "waiting_operator"


async def test_stop_while_waiting_for_an_operator_revokes_consent_silently(
    client: Client,
) -> None:
    await shopper(client)
    await say(client, "позовите оператора")
    result = await say(client, "СТОП")
    assert result["replies"] == []
    async with client.app[SESSIONS]() as session:
        open_consents = (
            await session.scalars(select(Consent.id).where(Consent.revoked_at.is_(None)))
        ).all()
    assert open_consents == []


async def test_nlu_down_routes_free_text_to_an_operator_but_digits_still_work(
    aiohttp_client: Any, settings: Any, clock: Any
) -> None:
    down = replace(settings, nlu_url=f"http://127.0.0.1:{free_port()}")
    client = await aiohttp_client(create_app(down, clock=clock, run_nlu=False, run_scheduler=False))
    await shopper(client)
    offered = await say(client, button="payment_help")  # 1 Доставка, 2 Вопрос менеджеру
    assert offered["handled_by"] == "bot"
    digit = await say(client, "1")
    assert digit["intent"] == "delivery" and digit["handled_by"] == "bot"
    stop = await say(client, "STOP")
    assert stop["intent"] == "opt_out" and stop["handled_by"] == "bot"
    result = await say(client, "а когда вы вообще работаете и есть ли у вас скидки?")
    assert result["handled_by"] == "operator"
    assert (await conversation(client))["handoff_reason"] == "nlu_unavailable"


async def test_returned_to_the_bot_it_answers_again(client: Client) -> None:
    await shopper(client)
    await say(client, "позовите оператора")
    async with client.app[SESSIONS].begin() as session:
        contact_id = await session.scalar(select(Contact.id))
        assert contact_id is not None
        await release(session, contact_id, None, "bot", client.app[CLOCK].now())
    result = await say(client, button="delivery_help")
    assert result["handled_by"] == "bot" and "курьером" in texts(result)
    state = await conversation(client)
    assert state["state"] == "bot" and "handoff_reason" not in state


async def test_five_failed_payments_put_the_checkout_in_manual_review(client: Client) -> None:
    await shopper(client)
    for _ in range(5):
        await post_events(client, payment_failed(reason="unknown", pay_url=None))
    state = await conversation(client)
    assert state["state"] == "waiting_operator"
    assert state["handoff_reason"] == "manual_review"


async def test_after_hours_the_notice_says_when_operators_answer(client: Client) -> None:
    await shopper(client)
    moved = await client.post("/sandbox/clock", json={"set": "2026-03-08T12:00:00Z"})  # Sunday
    assert moved.status == 200
    result = await say(client, "позовите оператора")
    assert "09:00–21:00" in texts(result) and "mon–sat" in texts(result)


async def test_a_telegram_shopper_is_answered_on_telegram(client: Client) -> None:
    await post_events(
        client,
        # a Telegram-only shopper: no phone, name or time zone
        consent(
            "t1",
            "telegram",
            source="telegram_start",
            phone=None,
            name=None,
            timezone=None,
            telegram_chat_id="555111",
            language="en",
        ),
    )
    result = await say(client, button="delivery_help", phone="555111", channel="telegram")
    [reply] = result["replies"]
    assert reply["channel"] == "telegram" and reply["to"] == "555111"
    assert "courier" in reply["text"]
