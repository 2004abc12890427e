"""Each provider's signed webhook over real HTTP on loopback, through the durable inbox and the
real dialogue, until the reply reaches the provider (the sandbox's fake); a bad signature is
refused with 403 and stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.app_keys import FAKES, SESSIONS
from bot.channels.fakes.providers import FakeProviders
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Consent, InboundWebhook, Message
from tests.channels_fixtures import wa_text, wait_for
from tests.conftest import AUTH

PHONE = "+79161234567"
CHAT = "700123"
STOP = "СТОП"
CONFIRMATION = "больше не будем писать"  # domain.yml: utter of the opt_out reply flow


@dataclass
class Live:
    """The service listening on a loopback port, and an HTTP client of its own."""

    app: web.Application
    url: str
    http: aiohttp.ClientSession
    settings: Settings

    @property
    def fakes(self) -> FakeProviders:
        return self.app[FAKES]


@pytest.fixture
async def live(settings: Settings, clock: SandboxClock) -> AsyncIterator[Live]:
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = f"http://127.0.0.1:{server.port}"
    app[FAKES].target = url  # the fakes' delivery statuses come back here
    try:
        async with aiohttp.ClientSession() as http:
            yield Live(app, url, http, settings)
    finally:
        await server.close()


Signed = tuple[bytes, dict[str, str]]


def _whatsapp(live: Live, text: str, secret: str) -> Signed:
    body = json.dumps(wa_text("wamid.E2E1", PHONE.lstrip("+"), text)).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}


def _twilio(live: Live, text: str, secret: str) -> Signed:
    sid = "SM" + "e2e" * 10 + "01"
    form = {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": PHONE,
        "To": "+15005550006",
        "Body": text,
        "NumSegments": "1",
        "SmsStatus": "received",
    }
    url = live.settings.public_url + "/webhooks/twilio"  # what Twilio signs
    signature = RequestValidator(secret).compute_signature(url, form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return urlencode(form).encode(), headers


def _telegram(live: Live, text: str, secret: str) -> Signed:
    update = {
        "update_id": 900001,
        "message": {
            "message_id": 11,
            "from": {"id": int(CHAT), "is_bot": False, "first_name": "Anna"},
            "chat": {"id": int(CHAT), "type": "private"},
            "date": 1772442000,
            "text": text,
        },
    }
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    return json.dumps(update).encode(), headers


@dataclass(frozen=True)
class Provider:
    path: str
    channel: str  # the consent channel of the events API
    contact: dict[str, str]
    secret: Callable[[Settings], str]
    signed: Callable[[Live, str, str], Signed]
    replies: Callable[[FakeProviders], list[str]]  # texts the fake provider received for us


PROVIDERS = {
    "whatsapp": Provider(
        "/webhooks/whatsapp",
        "whatsapp",
        {"phone": PHONE},
        lambda s: s.whatsapp_app_secret,
        _whatsapp,
        lambda f: [
            m["body"].get("text", {}).get("body", "")
            for m in f.whatsapp.sent
            if m["to"] == PHONE.lstrip("+")
        ],
    ),
    "twilio": Provider(
        "/webhooks/twilio",
        "sms",
        {"phone": PHONE},
        lambda s: s.twilio_auth_token,
        _twilio,
        lambda f: [m["body"] for m in f.twilio.sent if m["to"] == PHONE],
    ),
    "telegram": Provider(
        "/webhooks/telegram",
        "telegram",
        {"telegram_chat_id": CHAT},
        lambda s: s.telegram_secret_token,
        _telegram,
        lambda f: [m["text"] for m in f.telegram.sent if str(m["chat"]["id"]) == CHAT],
    ),
}


async def _shopper(live: Live, provider: Provider) -> None:
    """A contact with consent on the provider's channel, through the events API."""
    contact = {"id": "e2e-1", "name": "Anna", "language": "ru", **provider.contact}
    event = {
        "id": f"e2e-consent-{provider.channel}",
        "type": "consent.granted",
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "contact": contact,
        "channel": provider.channel,
        "source": "checkout_checkbox",
    }
    async with live.http.post(f"{live.url}/api/v1/events", json=event, headers=AUTH) as response:
        assert response.status == 202, await response.text()
        assert (await response.json())["results"][0]["status"] == "accepted"


async def _count(live: Live, model: Any) -> int:
    async with live.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("name", list(PROVIDERS))
async def test_a_signed_stop_is_answered_through_the_provider(live: Live, name: str) -> None:
    provider = PROVIDERS[name]
    await _shopper(live, provider)
    body, headers = provider.signed(live, STOP, provider.secret(live.settings))
    async with live.http.post(live.url + provider.path, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()

    async def answered() -> list[str]:
        return [text for text in provider.replies(live.fakes) if CONFIRMATION in text]

    replies = await wait_for(answered, f"the {name} provider receives the STOP confirmation")
    assert len(replies) == 1

    async def processed() -> bool:
        async with live.app[SESSIONS]() as session:
            stored = (await session.scalars(select(InboundWebhook.processed_at))).all()
        return bool(stored) and all(at is not None for at in stored)

    await wait_for(processed, "the stored webhook marked processed")
    async with live.app[SESSIONS]() as session:
        consents = (await session.scalars(select(Consent))).all()
    assert consents and all(c.revoked_at is not None for c in consents)


@pytest.mark.parametrize("name", list(PROVIDERS))
async def test_a_bad_signature_is_refused_and_stores_nothing(live: Live, name: str) -> None:
    provider = PROVIDERS[name]
    await _shopper(live, provider)
    body, headers = provider.signed(live, STOP, "not-" + provider.secret(live.settings))
    async with live.http.post(live.url + provider.path, data=body, headers=headers) as response:
        assert response.status == 403
    assert await _count(live, InboundWebhook) == 0
    assert await _count(live, Message) == 0
    assert provider.replies(live.fakes) == []
