"""New escalations are announced once in the operators' Telegram chat (R-OP3), through
python-telegram-bot talking to the fake Telegram Bot API on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.app_keys import SCHEDULER
from bot.channels.fakes.loopback import LoopbackServer, Poster
from bot.channels.fakes.telegram import FakeTelegram
from bot.clock import SandboxClock
from bot.settings import Settings
from handoff.notify import NOTIFIER
from tests.dialogue_fixtures import say, shopper
from tests.factory import PHONE

TOKEN = "424242:operators-notify-token"
CHAT = "-1001234567"


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    credentials = Settings(telegram_bot_token=TOKEN, telegram_bot_username="nudge_bot")
    fake = FakeTelegram(credentials, Poster())
    server = LoopbackServer(fake.app())
    url = await server.start()
    yield fake, url
    await server.stop()


async def test_an_escalation_is_announced_once_without_the_full_phone(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    configured = replace(
        settings,
        telegram_bot_token=TOKEN,
        telegram_api_url=url,
        telegram_operators_chat_id=CHAT,
    )
    app = create_app(configured, clock=clock, run_nlu=False, run_scheduler=False)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    await shopper(client)
    await say(client, "хочу вернуть товар")
    for _ in range(2):  # a second pass must not announce it again
        await app[SCHEDULER].run_due()
        await app[NOTIFIER].drain()
    notices = [m for m in fake.sent if str(m["chat"]["id"]) == CHAT]
    assert len(notices) == 1
    text = notices[0]["text"]
    assert "return or refund" in text and "Anna" in text and "+7***567" in text
    assert PHONE not in text and "/console" in text
