"""Telegram opt-in links (R-PS5): their own secret, an expiry, one use, no silent re-binding.

Each refusal binds nothing and answers the chat politely in the shopper's language (the shop's
default when the token names nobody).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.app_keys import FAKES, INBOUND_HANDLER, INBOX, SESSIONS
from bot.channels.telegram_link import make_token
from bot.clock import SandboxClock
from bot.settings import PROJECT_ROOT, Settings
from bot.store.models import Consent, Contact, TelegramLinkUse
from flows.templates import load_templates
from tests.channels_fixtures import (
    Received,
    add_contact,
    fakes,
    received,
    service,
    unprocessed,
    wait_for,
)
from tests.conftest import API_KEY

__all__ = ["received", "service"]
UPDATE_IDS = itertools.count(1)
TEMPLATES = load_templates(PROJECT_ROOT / "domain.yml")[0]


def answer(name: str, language: str) -> str:
    return TEMPLATES.get(name, language, language).text


async def link_token(client: TestClient[Any, Any], contact: Contact) -> str:
    response = await client.get(
        f"/api/v1/contacts/{contact.external_id}/telegram-link",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status == 200
    body = await response.json()
    assert body["url"].endswith("?start=" + body["token"]) and len(body["token"]) <= 64
    return str(body["token"])


async def start(client: TestClient[Any, Any], chat: str, token: str) -> None:
    """The shopper taps Start in chat `chat`; returns once the service handled it."""
    update_id = next(UPDATE_IDS)  # unique across restarts: each fake counts from the same start
    message = {
        "message_id": update_id,
        "date": 1_780_000_000,
        "chat": {"id": int(chat), "type": "private"},
        "from": {"id": int(chat), "is_bot": False, "first_name": "Shopper"},
        "text": f"/start {token}",
    }
    assert await fakes(client).telegram.post({"update_id": update_id, "message": message}) == 200

    async def handled() -> bool:
        return await unprocessed(client) == 0 and client.app[INBOX].idle

    await wait_for(handled, "the /start handled")


def answers_to(client: TestClient[Any, Any], chat: str) -> list[str]:
    return [m["text"] for m in fakes(client).telegram.sent if str(m["chat"]["id"]) == chat]


async def bound_chat(client: TestClient[Any, Any], contact_id: int) -> str | None:
    async with client.app[SESSIONS]() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        return contact.telegram_chat_id


async def consents(client: TestClient[Any, Any]) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(Consent)) or 0)


async def set_language(client: TestClient[Any, Any], contact_id: int, language: str) -> None:
    async with client.app[SESSIONS].begin() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        contact.language = language


async def test_a_token_signed_with_any_other_secret_binds_nothing(
    service: TestClient[Any, Any], settings: Settings
) -> None:
    contact = await add_contact(service, phone="+48601234567")
    # The webhook secret (public in sandbox) and the session secret are not the link key.
    for n, key in enumerate(("another-secret", settings.telegram_secret_token)):
        chat = str(555 + n)
        await start(service, chat, make_token(contact.id, key))
        assert answers_to(service, chat) == [answer("utter_telegram_link_invalid", "ru")]
    await start(service, "557", "garbage-token")
    assert answers_to(service, "557") == [answer("utter_telegram_link_invalid", "ru")]
    assert await bound_chat(service, contact.id) is None and await consents(service) == 0


async def test_a_link_expires_after_the_configured_days(
    service: TestClient[Any, Any], clock: SandboxClock, settings: Settings
) -> None:
    contact = await add_contact(service, phone="+48601234567")
    await set_language(service, contact.id, "en")
    token = await link_token(service, contact)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())
    await start(service, "4242", token)
    expired = answer("utter_telegram_link_expired", "en")
    assert answers_to(service, "4242") == [expired]
    assert await bound_chat(service, contact.id) is None and await consents(service) == 0
    old = make_token(contact.id, settings.telegram_link_secret, clock.now() - timedelta(days=8))
    await start(service, "4243", old)
    assert answers_to(service, "4243") == [expired]
    assert await bound_chat(service, contact.id) is None and await consents(service) == 0
    fresh = await link_token(service, contact)  # a new link from the shop works
    clock.advance(timedelta(days=6, hours=23).total_seconds())
    await start(service, "4242", fresh)
    assert await bound_chat(service, contact.id) == "4242" and await consents(service) == 1
    assert answers_to(service, "4242") == [expired]  # binding itself is silent


async def test_a_token_binds_once_even_after_a_restart(
    service: TestClient[Any, Any],
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    received: Received,
) -> None:
    contact = await add_contact(service, phone="+48601234567")
    token = await link_token(service, contact)
    await start(service, "4242", token)
    assert await bound_chat(service, contact.id) == "4242"
    async with service.app[SESSIONS].begin() as session:  # the shopper's chat is gone
        row = await session.get(Contact, contact.id)
        assert row is not None
        row.telegram_chat_id = None
    await service.close()

    app = create_app(
        replace(settings, send_timeout_seconds=1), clock=clock, run_nlu=False, run_scheduler=False
    )
    app[INBOUND_HANDLER] = received
    restarted: TestClient[Any, Any] = await aiohttp_client(app)
    app[FAKES].target = str(restarted.make_url("")).rstrip("/")
    await start(restarted, "666", token)
    assert answers_to(restarted, "666") == [answer("utter_telegram_link_used", "ru")]
    assert await bound_chat(restarted, contact.id) is None and received.items == []


async def test_a_bound_contact_or_chat_is_not_re_bound(service: TestClient[Any, Any]) -> None:
    anna = await add_contact(service, phone="+48601234567")
    boris = await add_contact(service, phone="+48601234568")
    await set_language(service, anna.id, "pl")
    await start(service, "4242", await link_token(service, anna))
    assert await bound_chat(service, anna.id) == "4242"

    await start(service, "666", await link_token(service, anna))  # a second link, another chat
    await start(service, "4242", await link_token(service, boris))  # Anna's chat, Boris's link
    assert answers_to(service, "666") == [answer("utter_telegram_link_taken", "pl")]
    assert answers_to(service, "4242") == [answer("utter_telegram_link_taken", "ru")]
    assert await bound_chat(service, anna.id) == "4242"
    assert await bound_chat(service, boris.id) is None and await consents(service) == 1

    await start(service, "4242", await link_token(service, anna))  # Anna again: still fine
    assert await bound_chat(service, anna.id) == "4242" and len(answers_to(service, "4242")) == 1


async def test_link_days_setting_is_the_expiry_and_old_nonces_are_dropped(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    received: Received,
) -> None:
    app = create_app(
        replace(settings, telegram_link_days=1, send_timeout_seconds=1),
        clock=clock,
        run_nlu=False,
        run_scheduler=False,
    )
    app[INBOUND_HANDLER] = received
    client: TestClient[Any, Any] = await aiohttp_client(app)
    app[FAKES].target = str(client.make_url("")).rstrip("/")
    anna = await add_contact(client, phone="+48601234567")
    boris = await add_contact(client, phone="+48601234568")
    await start(client, "4242", await link_token(client, anna))
    late = await link_token(client, boris)
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    await start(client, "666", late)
    assert answers_to(client, "666") == [answer("utter_telegram_link_expired", "ru")]
    await start(client, "666", await link_token(client, boris))
    assert await bound_chat(client, boris.id) == "666"
    async with client.app[SESSIONS]() as session:
        kept = (await session.scalars(select(TelegramLinkUse.contact_id))).all()
    assert kept == [boris.id]  # Anna's day-old nonce is gone: her token has expired anyway


async def test_without_a_link_secret_the_link_endpoint_says_so(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> None:
    live = replace(settings, sandbox=False, telegram_link_secret="")
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(live, clock=clock, run_nlu=False, run_scheduler=False)
    )
    contact = await add_contact(client, phone="+48601234567")
    response = await client.get(
        f"/api/v1/contacts/{contact.external_id}/telegram-link",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status == 409
    assert "NUDGE_TELEGRAM_LINK_SECRET" in (await response.json())["error"]
