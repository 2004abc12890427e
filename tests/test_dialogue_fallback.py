"""A dialogue composed without an NLU part knows every stop word of nlu/rules.py (R-RP1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot import nlu_service
from bot.app import create_app
from bot.app_keys import SESSIONS
from bot.clock import SandboxClock
from bot.dialogue.fallback import FallbackClassifier
from bot.settings import Settings
from bot.store.models import Consent
from tests.dialogue_fixtures import say, shopper

Client = TestClient[Any, Any]

# In nlu/rule_words.py's STOP_PHRASES and STOP_SENTENCES, not among the ten words of a short list.
ONLY_IN_THE_FULL_LIST = ("stop texting me", "хватит", "wypiszcie mnie", "别再发了")


@pytest.fixture
async def without_nlu(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    """The service with no classifier registered: the dialogue falls back to rules only."""
    monkeypatch.setattr(nlu_service, "setup", lambda app: None)
    app: web.Application = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    client: Client = await aiohttp_client(app)
    return client


@pytest.mark.parametrize("text", ONLY_IN_THE_FULL_LIST)
async def test_the_fallback_classifier_knows_the_full_stop_list(text: str) -> None:
    result = await FallbackClassifier().classify(text)
    assert (result.intent, result.source, result.detail) == ("opt_out", "rule", "stop")


async def test_free_text_without_an_nlu_part_is_unavailable() -> None:
    result = await FallbackClassifier().classify("my card 4111 1111 1111 1111 failed")
    assert (result.intent, result.source) == ("other", "unavailable")
    assert "4111" not in result.redacted_text and result.card_data_removed


async def test_a_stop_sentence_without_an_nlu_part_opts_out(without_nlu: Client) -> None:
    await shopper(without_nlu)
    result = await say(without_nlu, "stop texting me")
    assert result["intent"] == "opt_out" and result["handled_by"] == "bot"
    async with without_nlu.app[SESSIONS]() as session:
        open_consents = (
            await session.scalars(select(Consent.id).where(Consent.revoked_at.is_(None)))
        ).all()
    assert open_consents == []
