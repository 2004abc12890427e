"""Fine intents only the model knows — a question about the item (→ an operator) and "who is
this?" (→ who writes and why) — through the real dialogue, with a stand-in Rasa server as the
classifier's model: until the trained model knows them, it answers what the model will."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import FAKES, SESSIONS
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Chain, Conversation
from tests.channels_fixtures import wait_for
from tests.dialogue_fixtures import conversation, post_events, say, shopper, texts
from tests.factory import consent
from tests.test_webhooks_end_to_end import PROVIDERS, Live, _shopper
from tests.touches_fixtures import Shop

Client = TestClient[Any, Any]
Staff = dict[str, dict[str, str]]

# What the stand-in model answers; anything else is `other`.
MODEL = {
    "а какой размер у этой куртки?": "product_question",
    "is it available in size M?": "product_question",
    "z jakiego materiału jest ta kurtka?": "product_question",
    "这个有保修吗？": "product_question",
    "кто это?": "who_is_this",
    "откуда у вас мой номер?": "who_is_this",
    "what is this message?": "who_is_this",
    "o co chodzi?": "who_is_this",
    "这是谁？": "who_is_this",
    "мам, не покупай хлеб, я уже взяла": "wrong_chat",
    "oops that was meant for my sister": "wrong_chat",
    "kochanie, odbierz dzieci o 16": "wrong_chat",
    "老公晚上别做饭了，我们出去吃": "wrong_chat",
    "во сколько вы закрываетесь в субботу?": "shop_question",
    "are you hiring?": "shop_question",
    "macie sklep stacjonarny w Poznaniu?": "shop_question",
    "你们有实体店吗": "shop_question",
}
PRODUCT_QUESTION = {
    "ru": ("а какой размер у этой куртки?", "Передаю ваш вопрос о товаре коллеге"),
    "en": ("is it available in size M?", "I'll pass your question about the item"),
    "pl": ("z jakiego materiału jest ta kurtka?", "Przekazuję Twoje pytanie o produkt"),
    "zh": ("这个有保修吗？", "我会把您关于商品的问题转给同事"),
}
# the who-and-why answer, and the quick reply of touch 1 at the payment stage (domain.yml)
WHO_IS_THIS = {
    "ru": ("кто это?", "заказ не завершился", ["К оплате"]),
    "en": ("what is this message?", "the order wasn't completed", ["Go to payment"]),
    "pl": ("o co chodzi?", "nie zostało dokończone", ["Do płatności"]),
    "zh": ("这是谁？", "订单没有完成", ["去支付"]),
}
# a message meant for someone else: said not for us, with the quick reply of touch 1
WRONG_CHAT = {
    "ru": ("мам, не покупай хлеб, я уже взяла", "сообщение не для нас", ["К оплате"]),
    "en": ("oops that was meant for my sister", "wasn't meant for us", ["Go to payment"]),
    "pl": ("kochanie, odbierz dzieci o 16", "nie była do nas", ["Do płatności"]),
    "zh": ("老公晚上别做饭了，我们出去吃", "不是发给我们的", ["去支付"]),
}
# a question for the shop: what the bot does here, with a manager a tap away
SHOP_QUESTION = {
    "ru": (
        "во сколько вы закрываетесь в субботу?",
        "помогаю только с заказами",
        "Спросить менеджера",
    ),
    "en": ("are you hiring?", "only help with orders", "Ask a manager"),
    "pl": (
        "macie sklep stacjonarny w Poznaniu?",
        "pomagam tylko z zamówieniami",
        "Zapytaj konsultanta",
    ),
    "zh": ("你们有实体店吗", "只能帮您处理订单", "咨询客服"),
}
MISUNDERSTOOD = ("не совсем понял", "didn't quite get", "nie do końca", "没太明白")


@pytest.fixture
async def stand_in_rasa() -> AsyncIterator[str]:
    """Speaks Rasa's /model/parse, answering from MODEL."""

    async def parse(request: web.Request) -> web.Response:
        text = (await request.json())["text"]
        intent = {"name": MODEL.get(text, "other"), "confidence": 0.95}
        return web.json_response({"intent": intent, "intent_ranking": [intent]})

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def model_settings(settings: Settings, stand_in_rasa: str) -> Settings:
    return replace(settings, nlu_url=stand_in_rasa)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], model_settings: Settings, clock: SandboxClock
) -> Client:
    """The service in sandbox mode, its classifier reading the stand-in model."""
    app = create_app(model_settings, clock=clock, run_nlu=False, run_scheduler=False)
    test_client: Client = await aiohttp_client(app)
    return test_client


async def _chains(client: Client) -> list[str]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(Chain.status).order_by(Chain.id))).all())


async def _misunderstood(client: Client) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(Conversation.misunderstood)) or 0)


@pytest.mark.parametrize("language", list(PRODUCT_QUESTION))
async def test_a_product_question_goes_to_an_operator_and_the_touches_stop(
    client: Client, language: str
) -> None:
    text, told = PRODUCT_QUESTION[language]
    await shopper(client, language=language)
    shop = Shop(client)
    await shop.advance(minutes=30)  # touch 1 arrives
    result = await say(client, text)
    assert result["handled_by"] == "operator", result
    [reply] = result["replies"]
    assert told in reply["text"] and not reply["buttons"]
    state = await conversation(client)
    assert (state["state"], state["handoff_reason"]) == ("waiting_operator", "product_question")
    assert await _chains(client) == ["stopped"]
    await shop.advance(days=3)  # touches 2 and 3 were due: none is sent
    assert [o["touch"]["step"] for o in await shop.outbox("c1")] == ["touch_1"]


async def test_after_hours_a_product_question_says_when_a_person_answers(client: Client) -> None:
    await shopper(client)
    await Shop(client).set(datetime(2026, 3, 7, 20, 0, tzinfo=UTC))  # 23:00 in Moscow
    result = await say(client, "а какой размер у этой куртки?")
    assert "вопрос о товаре" in texts(result) and "09:00–21:00 (Europe/Moscow)" in texts(result)


async def test_the_console_names_the_reason(client: Client, staff: Staff) -> None:
    await shopper(client)
    await say(client, "а какой размер у этой куртки?")
    response = await client.get("/console/api/queue", headers=staff["operator"])
    [item] = (await response.json())["queue"]
    assert item["reason"] == "product_question"
    assert item["reason_text"] == "question about the item"


@pytest.mark.parametrize("language", list(WHO_IS_THIS))
async def test_who_is_this_is_answered_with_who_writes_why_and_the_touchs_quick_replies(
    client: Client, language: str
) -> None:
    text, why, buttons = WHO_IS_THIS[language]
    await shopper(client, language=language)
    await Shop(client).advance(minutes=30)  # touch 1 arrives, offering its quick reply
    unclear = await say(client, "хм")  # a clarifying question: one misunderstanding counted
    assert any(marker in texts(unclear) for marker in MISUNDERSTOOD)
    assert await _misunderstood(client) == 1
    chains = await _chains(client)
    result = await say(client, text)
    assert result["handled_by"] == "bot", result
    [reply] = result["replies"]
    assert "Example" in reply["text"] and why in reply["text"], reply["text"]
    assert reply["buttons"] == buttons
    assert not any(marker in reply["text"] for marker in MISUNDERSTOOD)
    assert (await conversation(client))["state"] == "bot"  # not the second misunderstanding
    assert await _misunderstood(client) == 0
    assert await _chains(client) == chains  # the chains are left as they were


async def test_who_is_this_without_a_checkout_gets_the_welcomes_quick_replies(
    client: Client,
) -> None:
    await post_events(client, consent(language="en"))
    result = await say(client, "what is this message?")
    [reply] = result["replies"]
    assert result["handled_by"] == "bot"
    assert "This is the Example shop's bot" in reply["text"]
    assert reply["buttons"] == ["Order status", "Payment", "Delivery"]
    assert await _misunderstood(client) == 0


@pytest.mark.parametrize("language", list(WRONG_CHAT))
async def test_a_message_meant_for_someone_else_is_said_not_for_us_and_the_touches_go_on(
    client: Client, language: str
) -> None:
    text, told, buttons = WRONG_CHAT[language]
    await shopper(client, language=language)
    shop = Shop(client)
    await shop.advance(minutes=30)  # touch 1 arrives, offering its quick reply
    chains = await _chains(client)
    result = await say(client, text)
    assert result["handled_by"] == "bot", result
    [reply] = result["replies"]
    assert told in reply["text"] and "Example" in reply["text"], reply["text"]
    assert reply["buttons"] == buttons
    assert not any(marker in reply["text"] for marker in MISUNDERSTOOD)
    assert not any(word in reply["text"] for word in ("СТОП", "STOP", "退订"))  # not a decline
    assert await _misunderstood(client) == 0
    assert await _chains(client) == chains == ["active"]  # neither stopped nor paused
    await shop.advance(days=1)  # the next touches are still sent
    sent = [o["touch"]["step"] for o in await shop.outbox("c1") if o.get("touch")]
    assert sent[:2] == ["touch_1", "touch_2"]


async def test_a_chat_with_mum_sent_here_is_answered_once_in_a_row(client: Client) -> None:
    await shopper(client)
    first = await say(client, "мам, не покупай хлеб, я уже взяла")
    assert "сообщение не для нас" in texts(first)
    assert (await say(client, "мам, не покупай хлеб, я уже взяла"))["replies"] == []
    assert "не совсем понял" in texts(await say(client, "хм"))
    again = await say(client, "мам, не покупай хлеб, я уже взяла")
    assert "сообщение не для нас" in texts(again)  # another answer came between


async def test_a_wrong_chat_message_without_a_checkout_gets_the_welcomes_quick_replies(
    client: Client,
) -> None:
    await post_events(client, consent(language="en"))
    result = await say(client, "oops that was meant for my sister")
    [reply] = result["replies"]
    assert "wasn't meant for us" in reply["text"] and "Example's bot" in reply["text"]
    assert reply["buttons"] == ["Order status", "Payment", "Delivery"]
    assert await _misunderstood(client) == 0


async def test_a_strangers_first_message_meant_for_someone_else_says_who_writes(
    client: Client,
) -> None:
    stranger = "+447700900123"
    result = await say(client, "oops that was meant for my sister", phone=stranger)
    [reply] = result["replies"]
    assert reply["to"] == stranger and result["handled_by"] == "bot"
    assert "wasn't meant for us" in reply["text"] and "Example's bot" in reply["text"]
    assert reply["buttons"] == ["Order status", "Payment", "Delivery"]  # the welcome's
    # the next one in a row is a chat sent here too: no answer
    assert (await say(client, "oops that was meant for my sister", phone=stranger))["replies"] == []


@pytest.mark.parametrize("language", list(SHOP_QUESTION))
async def test_a_question_for_the_shop_says_what_the_bot_does_and_offers_a_manager(
    client: Client, language: str
) -> None:
    text, told, manager = SHOP_QUESTION[language]
    await shopper(client, language=language)
    result = await say(client, text)
    assert result["handled_by"] == "bot", result
    [reply] = result["replies"]
    assert told in reply["text"] and reply["buttons"][1] == manager, reply
    assert not any(marker in reply["text"] for marker in MISUNDERSTOOD)
    assert await _misunderstood(client) == 0
    asked = await say(client, "2")  # the manager button
    assert asked["handled_by"] == "operator", asked
    state = await conversation(client)
    assert (state["state"], state["handoff_reason"]) == ("waiting_operator", "human_requested")


@pytest.fixture
async def live(model_settings: Settings, clock: SandboxClock) -> AsyncIterator[Live]:
    app = create_app(model_settings, clock=clock, run_nlu=False, run_scheduler=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = f"http://127.0.0.1:{server.port}"
    app[FAKES].target = url
    try:
        async with aiohttp.ClientSession() as http:
            yield Live(app, url, http, model_settings)
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("text", "told", "quick", "state"),
    [
        ("а какой размер у этой куртки?", "Передаю ваш вопрос о товаре", None, "waiting_operator"),
        ("откуда у вас мой номер?", "Это бот магазина «Example»", "Статус заказа", "bot"),
    ],
)
async def test_a_signed_whatsapp_webhook_is_answered_by_the_fine_intent(
    live: Live, text: str, told: str, quick: str | None, state: str
) -> None:
    provider = PROVIDERS["whatsapp"]
    await _shopper(live, provider)  # consent only: no checkout
    body, headers = provider.signed(live, text, provider.secret(live.settings))
    async with live.http.post(live.url + provider.path, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()

    async def answered() -> list[dict[str, Any]]:
        # a reply with quick replies is an interactive message: its text is deeper in
        sent = live.fakes.whatsapp.sent
        return [m for m in sent if told in json.dumps(m["body"], ensure_ascii=False)]

    [sent] = await wait_for(answered, f"WhatsApp receives {told!r}")
    if quick is None:
        assert sent["body"]["type"] == "text"
    else:
        assert sent["body"]["type"] == "interactive"
        assert quick in json.dumps(sent["body"]["interactive"]["action"], ensure_ascii=False)
    async with live.app[SESSIONS]() as session:
        row = await session.scalar(select(Conversation))
    assert row is not None and row.state == state
    assert row.handoff_reason == ("product_question" if state != "bot" else None)
    assert row.misunderstood == 0
