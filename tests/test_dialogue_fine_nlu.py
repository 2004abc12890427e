"""The issue's phrases end to end with the REAL Rasa model: webhook → reply → chain state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import SESSIONS
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Chain, Consent
from tests.dialogue_fixtures import conversation, post_events, say, shopper, texts
from tests.factory import order_paid, order_status
from tests.rasa_fixture import RASA_TOKEN

pytest_plugins = ["tests.rasa_fixture"]
pytestmark = pytest.mark.rasa

Client = TestClient[Any, Any]
DECLINED = {
    "ru": "больше не напоминаем об этом заказе",
    "en": "no more reminders about this order",
    "pl": "nie będziemy już przypominać",
    "zh": "不会再提醒您这个订单",
}
MISUNDERSTOOD = ("не совсем понял", "didn't quite get", "nie do końca", "没太明白")


@pytest.fixture
async def nlu_client(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, rasa_url: str
) -> Client:
    live = replace(settings, nlu_url=rasa_url, nlu_token=RASA_TOKEN)
    client: Client = await aiohttp_client(
        create_app(live, clock=clock, run_nlu=False, run_scheduler=False)
    )
    return client


async def _state(client: Client) -> tuple[list[str], int]:
    """Chain statuses and the number of consents still open."""
    async with client.app[SESSIONS]() as session:
        chains = list((await session.scalars(select(Chain.status))).all())
        consents = await session.scalars(select(Consent.id).where(Consent.revoked_at.is_(None)))
        return chains, len(consents.all())


def _understood(result: dict[str, Any]) -> bool:
    return not any(marker in texts(result) for marker in MISUNDERSTOOD)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "не актуально"),
        ("ru", "уже не нужно, спасибо"),
        ("ru", "передумал"),
        ("ru", "уже купил в другом месте"),
        ("ru", "спасибо, но я уже взяла такую же в другом магазине"),
        ("pl", "nieaktualne"),
        ("en", "no thanks, changed my mind"),
        ("en", "i decided not to buy it after all"),
        # the order cancelled outright, the messages kept: a decline even when read as stop
        ("en", "cancel my order please, but don't unsubscribe me"),
        ("zh", "不需要了"),
        # giving up after a failed payment: read as payment by the model, declined by the rule
        ("en", "payment failed twice, forget it"),
        ("zh", "支付宝付款失败，那就算了"),
    ],
)
async def test_a_decline_stops_this_checkout_and_keeps_consent(
    nlu_client: Client, language: str, text: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert result["intent"] == "opt_out" and result["handled_by"] == "bot", result
    [reply] = result["replies"]
    assert DECLINED[language] in reply["text"], reply["text"]
    assert await _state(nlu_client) == (["stopped"], 1)
    assert (await conversation(nlu_client))["state"] == "bot"


@pytest.mark.parametrize(("language", "text"), [("ru", "уже оплатил"), ("en", "I paid already")])
async def test_already_paid_thanks_then_an_operator_without_order_paid(
    nlu_client: Client, language: str, text: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert result["intent"] == "payment" and "15" in texts(result), result
    assert await _state(nlu_client) == (["stopped"], 1)
    moved = await nlu_client.post("/sandbox/clock", json={"advance_seconds": 15 * 60})
    assert moved.status == 200
    state = await conversation(nlu_client)
    assert state == {
        **state,
        "state": "waiting_operator",
        "handoff_reason": "money_charged_no_order",
    }


@pytest.mark.parametrize("text", ["спасибо", "ок", "👍", "спасибо большое, посмотрю вечером"])
async def test_thanks_and_acknowledgements_are_never_misunderstood(
    nlu_client: Client, text: str
) -> None:
    await shopper(nlu_client)
    result = await say(nlu_client, text)
    assert result["handled_by"] == "bot" and _understood(result), result
    assert await _state(nlu_client) in ((["paused"], 1), (["active"], 1))


# Written for this test: a shopper who puts it off, with a reason or a plan
@pytest.mark.parametrize(
    ("language", "text", "answer", "cart"),
    [
        ("ru", "сейчас за рулём, вечером посмотрю заказ", "не спешите", "Корзина"),
        ("en", "at work right now, I'll sort it out this evening", "no rush", "cart"),
        ("pl", "jestem w pracy, wieczorem to ogarnę", "bez pośpiechu", "Koszyk"),
        ("zh", "我在上班，晚上再看", "不着急", "购物车"),
    ],
)
async def test_putting_it_off_gets_no_rush_and_keeps_the_checkout(
    nlu_client: Client, language: str, text: str, answer: str, cart: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert (result["intent"], result["handled_by"]) == ("other", "bot"), result
    [reply] = result["replies"]  # no clarifying question, no satisfaction question
    assert answer in reply["text"] and cart in reply["text"], reply["text"]
    assert await _state(nlu_client) == (["paused"], 1)
    assert (await conversation(nlu_client))["state"] == "bot"


# Written for this test: a message for someone else, with a "no" meant for that person; the
# model before the twenty-fifth cut read the ru and zh ones as declines (the reminders stopped)
@pytest.mark.parametrize(
    ("language", "text", "answer"),
    [
        ("ru", "мам, не покупай молоко, я уже взяла по дороге", "не для нас"),
        ("en", "babe don't order pizza tonight, I'm cooking", "wasn't meant for us"),
        ("pl", "Kasia, nie czekaj na mnie z obiadem, wrócę później", "nie była do nas"),
        ("zh", "老婆别买菜了，今晚我们出去吃", "不是发给我们的"),
        # a refusal of goods said to a relative: the twenty-sixth cut's address rule
        ("ru", "мам, не бери мне этот пылесос, у нас уже есть", "не для нас"),
        ("en", "Mom, I don't need the new boots, don't order them", "wasn't meant for us"),
        ("pl", "tato, nie kupuj mi tego roweru, nie potrzebuję", "nie była do nas"),
        ("zh", "爸 我不要那个无人机了，别给我买", "不是发给我们的"),
    ],
)
async def test_a_message_meant_for_someone_else_is_no_decline(
    nlu_client: Client, language: str, text: str, answer: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert (result["intent"], result["handled_by"]) == ("other", "bot"), result
    [reply] = result["replies"]
    assert answer in reply["text"] and _understood(result), reply["text"]
    assert await _state(nlu_client) == (["active"], 1)  # reminders and consent stay
    assert (await conversation(nlu_client))["state"] == "bot"


async def test_a_decline_without_a_checkout_speaks_of_no_order(nlu_client: Client) -> None:
    first = await say(nlu_client, "привет, что вы умеете?")  # writes first: no checkout
    assert first["handled_by"] == "bot", first
    result = await say(nlu_client, "не актуально")
    assert result["intent"] == "opt_out", result
    [reply] = result["replies"]
    assert "СТОП" in reply["text"] and "заказ" not in reply["text"], reply["text"]


async def test_putting_it_off_without_a_checkout_promises_no_cart(nlu_client: Client) -> None:
    first = await say(nlu_client, "hi, what can you do?")  # writes first: no checkout
    assert first["handled_by"] == "bot", first
    result = await say(nlu_client, "at work right now, I'll sort it out this evening")
    [reply] = result["replies"]
    assert "no rush" in reply["text"] and "cart" not in reply["text"], reply["text"]


async def test_asking_for_a_person_goes_straight_to_an_operator(nlu_client: Client) -> None:
    await shopper(nlu_client)
    result = await say(nlu_client, "можно мне поговорить с живым человеком")
    assert result["handled_by"] == "operator"
    assert (await conversation(nlu_client))["handoff_reason"] == "human_requested"


async def _shipped(client: Client) -> None:
    await post_events(
        client,
        order_paid(),
        order_status(status="in transit", tracking_url="https://t.example/9"),
    )


async def test_where_is_my_order_answers_the_last_status(nlu_client: Client) -> None:
    await shopper(nlu_client, language="en")
    await _shipped(nlu_client)
    result = await say(nlu_client, "hey, where is my order?")
    assert result["handled_by"] == "bot"
    assert "in transit" in texts(result) and "https://t.example/9" in texts(result)


async def test_a_late_parcel_is_a_delivery_dispute(nlu_client: Client) -> None:
    await shopper(nlu_client, language="en")
    await _shipped(nlu_client)
    result = await say(nlu_client, "where is my parcel? it's been 2 weeks")
    assert result["handled_by"] == "operator"
    assert (await conversation(nlu_client))["handoff_reason"] == "delivery_dispute"


async def test_a_stop_in_free_words_still_revokes_consent(nlu_client: Client) -> None:
    await shopper(nlu_client)
    result = await say(nlu_client, "не пишите мне")
    assert result["intent"] == "opt_out"
    assert await _state(nlu_client) == (["stopped"], 0)


# Written for this test: a refusal word taken back keeps the checkout and the consent
@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "не отменяйте, я ещё хочу этот заказ"),
        ("en", "don't cancel it, I still want the order"),
        ("pl", "nie anulujcie, nadal chcę to zamówienie"),
        ("zh", "别取消，我还要这个订单"),
    ],
)
async def test_a_negated_refusal_keeps_the_checkout(
    nlu_client: Client, language: str, text: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert result["intent"] != "opt_out", result
    assert await _state(nlu_client) in ((["paused"], 1), (["active"], 1))
