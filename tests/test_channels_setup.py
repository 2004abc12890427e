"""Which credentials the channels get: live wiring never holds a public sandbox value; the
channels talking to the fakes hold the same sandbox values the fakes accept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace

import httpx
import pytest

from bot.channels.fakes.providers import FakeProviders
from bot.channels.setup import _channels_of, _sending
from bot.channels.telegram import TelegramChannel
from bot.channels.twilio_sms import TwilioSmsChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.settings import Settings

LIVE = Settings(sandbox=False, public_url="https://nudge.shop.example")
TWILIO_SID = "AC" + "1" * 32
WHATSAPP_TOKEN = "EAAG-a-real-looking-page-token"
FAKE_URLS = {name: "http://127.0.0.1:9" for name in ("whatsapp", "sms", "telegram")}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _whatsapp(channels: Mapping[str, object]) -> WhatsAppChannel:
    channel = channels["whatsapp"]
    assert isinstance(channel, WhatsAppChannel)
    return channel


def _sms(channels: Mapping[str, object]) -> TwilioSmsChannel:
    channel = channels["twilio"]
    assert isinstance(channel, TwilioSmsChannel)
    return channel


async def test_live_twilio_only_leaves_whatsapp_without_a_token(http: httpx.AsyncClient) -> None:
    settings = replace(LIVE, twilio_account_sid=TWILIO_SID)
    channels = _channels_of(settings, http, None)
    assert _whatsapp(channels).headers["Authorization"] == "Bearer "
    assert _sms(channels).auth[0] == TWILIO_SID
    assert list(_sending(settings, channels, fake=False)) == ["sms"]


async def test_live_whatsapp_only_leaves_twilio_without_an_account(
    http: httpx.AsyncClient,
) -> None:
    settings = replace(LIVE, whatsapp_token=WHATSAPP_TOKEN)
    channels = _channels_of(settings, http, None)
    assert _sms(channels).auth[0] == ""
    assert "/Accounts//Messages.json" in _sms(channels).url
    assert _whatsapp(channels).headers["Authorization"] == f"Bearer {WHATSAPP_TOKEN}"
    telegram = channels["telegram"]
    assert isinstance(telegram, TelegramChannel) and telegram.bot is None
    assert list(_sending(settings, channels, fake=False)) == ["whatsapp"]


async def test_channels_to_the_fakes_hold_what_the_fakes_accept(http: httpx.AsyncClient) -> None:
    fakes = FakeProviders(Settings(), callbacks=False)
    channels = _channels_of(Settings(), http, FAKE_URLS)
    expected = f"Bearer {fakes.whatsapp.settings.whatsapp_token}"
    assert fakes.whatsapp.settings.whatsapp_token
    assert _whatsapp(channels).headers["Authorization"] == expected
    assert _sms(channels).auth[0] == fakes.twilio.account_sid != ""
    telegram = channels["telegram"]
    assert isinstance(telegram, TelegramChannel) and telegram.bot is not None
    assert telegram.bot.token == fakes.telegram.token != ""
