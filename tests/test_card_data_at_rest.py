"""R-RP5, R-PS1: a card number or CVV sent through any provider is never stored or logged."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.app_keys import ENGINE, FAKES, INBOX, OUTBOUND, SESSIONS
from bot.channels import twilio_sms
from bot.channels.base import InboundMessage
from bot.channels.parsing import from_json, to_json
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Base, Message
from nlu.redact import CARD_MASK, CVV_MASK
from tests.channels_fixtures import add_contact, fakes, unprocessed, wait_for

PHONE = "+79161234567"
CHAT = "4242"
# Luhn-valid test numbers as shoppers type them: spaces, dashes, one run of digits.
SENT = {
    "whatsapp": "вот карта 4111 1111 1111 1111 cvv 373",
    "sms": "my card 5500-0000-0000-0004, CVC: 9173",
    "telegram": "4012888888881881 код 5820",
}
CARDS = ("4111111111111111", "5500000000000004", "4012888888881881")
CVV_TYPED = re.compile(r"(?i)(cvv|cvc|код)\W*(373|9173|5820)")


@pytest.fixture
async def live(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole service (the real dialogue) with the fake providers posting back to it."""
    app: web.Application = create_app(
        replace(settings, send_timeout_seconds=1), clock=clock, run_nlu=False, run_scheduler=False
    )
    client: TestClient[Any, Any] = await aiohttp_client(app)
    app[FAKES].target = str(client.make_url("")).rstrip("/")
    for channel in app[OUTBOUND].clients.values():
        channel.backoff = 0.01  # type: ignore[attr-defined]
    yield client


async def _all_cells(client: TestClient[Any, Any]) -> list[tuple[str, str]]:
    """(table.column, text) of every value of every table the models define."""
    cells: list[tuple[str, str]] = []
    async with client.app[ENGINE].connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    cells.append((f"{table.name}.{column}", text))
    return cells


def _leaks(text: str) -> list[str]:
    joined = re.sub(r"[\s\-]", "", text)  # "4111 1111 …" and "5500-0000-…" read as digits
    found = [card for card in CARDS if card in joined]
    found += [m.group(0) for m in CVV_TYPED.finditer(text)]
    return found


async def _inbound_stored(client: TestClient[Any, Any]) -> bool:
    async with client.app[SESSIONS]() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    return count == len(SENT) and await unprocessed(client) == 0 and client.app[INBOX].idle


async def test_card_data_sent_through_every_provider_is_never_stored_or_logged(
    live: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await add_contact(live, phone=PHONE, chat=CHAT)
    providers = fakes(live)
    assert await providers.whatsapp.deliver(PHONE, text=SENT["whatsapp"]) == 200
    assert await providers.twilio.deliver(PHONE, SENT["sms"]) == 200
    assert await providers.telegram.deliver(CHAT, text=SENT["telegram"]) == 200
    await wait_for(lambda: _inbound_stored(live), "all three messages processed")

    cells = await _all_cells(live)
    leaks = [(where, found) for where, text in cells for found in _leaks(text)]
    assert leaks == [], leaks
    assert _leaks(caplog.text) == []
    async with live.app[SESSIONS]() as session:
        rows = (await session.scalars(select(Message).order_by(Message.id))).all()
    inbound = {m.channel: m.text for m in rows if m.direction == "in"}
    assert all(CARD_MASK in text and CVV_MASK in text for text in inbound.values()), inbound
    # The dialogue still knows a card was removed: each shopper is told never to send one.
    warned = {m.channel for m in rows if m.direction == "out" and "данные карты" in m.text}
    assert warned == {"whatsapp", "sms", "telegram"}


def test_a_stored_row_keeps_the_removed_flag_not_the_card() -> None:
    """A row a crash left unprocessed is resumed from its payload: the warning still goes out."""
    parsed = twilio_sms.parse_webhook(
        {"MessageSid": "SM1", "From": PHONE, "Body": SENT["sms"]}, datetime(2026, 3, 2, tzinfo=UTC)
    )[0]
    stored = to_json(parsed)
    assert _leaks(json.dumps(stored)) == []
    resumed = from_json(json.loads(json.dumps(stored)))
    assert isinstance(resumed, InboundMessage) and resumed.card_data_removed
    assert resumed == parsed.item
