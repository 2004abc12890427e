"""Free text through a REAL Rasa server: the reply flows and the misunderstanding hand-off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import SandboxClock
from bot.settings import Settings
from tests.dialogue_fixtures import conversation, say, shopper, texts
from tests.rasa_fixture import RASA_TOKEN

pytest_plugins = ["tests.rasa_fixture"]
pytestmark = pytest.mark.rasa

Client = TestClient[Any, Any]


@pytest.fixture
async def nlu_client(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, rasa_url: str
) -> Client:
    live = replace(settings, nlu_url=rasa_url, nlu_token=RASA_TOKEN)
    client: Client = await aiohttp_client(
        create_app(live, clock=clock, run_nlu=False, run_scheduler=False)
    )
    return client


@pytest.mark.parametrize(
    ("language", "text", "intent", "needle"),
    [
        ("ru", "сколько стоит доставка курьером до Казани?", "delivery", "курьером"),
        ("ru", "а можно оплатить в рассрочку?", "payment", "в рассрочку"),
        ("en", "do you have any discount code", "discount", "SPRING5"),
        ("pl", "czy jest jakiś kod rabatowy", "discount", "SPRING5"),
        ("zh", "可以货到付款吗", "payment", "货到付款"),
    ],
)
async def test_free_text_gets_the_right_reply_flow(
    nlu_client: Client, language: str, text: str, intent: str, needle: str
) -> None:
    await shopper(nlu_client, language=language)
    result = await say(nlu_client, text)
    assert result["intent"] == intent and result["handled_by"] == "bot"
    assert needle in texts(result)


async def test_opt_out_in_free_words(nlu_client: Client) -> None:
    await shopper(nlu_client)
    result = await say(nlu_client, "отпишите меня от этих сообщений")
    assert result["intent"] == "opt_out"
    assert "больше не будем писать" in texts(result)


async def test_one_clarifying_question_then_an_operator(nlu_client: Client) -> None:
    await shopper(nlu_client)
    first = await say(nlu_client, "what is the meaning of life")
    assert first["handled_by"] == "bot" and "не совсем понял" in texts(first)
    assert (await conversation(nlu_client))["state"] == "bot"
    second = await say(nlu_client, "лол")
    assert second["handled_by"] == "operator"
    assert (await conversation(nlu_client))["handoff_reason"] == "misunderstood_twice"


async def test_an_understood_message_resets_the_misunderstanding_count(
    nlu_client: Client,
) -> None:
    await shopper(nlu_client)
    await say(nlu_client, "what is the meaning of life")
    understood = await say(nlu_client, "how much is shipping")
    assert understood["intent"] == "delivery"
    again = await say(nlu_client, "лол")
    assert again["handled_by"] == "bot" and "не совсем понял" in texts(again)
