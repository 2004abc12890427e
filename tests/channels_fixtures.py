"""Fixtures for the channel tests: the service with its fake providers wired back to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.app_keys import FAKES, INBOUND_HANDLER, OUTBOUND, SESSIONS
from bot.channels.base import InboundMessage
from bot.channels.fakes.providers import FakeProviders
from bot.channels.fakes.whatsapp import shopper_writes, webhook_body
from bot.channels.whatsapp import sign
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Contact, InboundWebhook, Message
from tests.factory import PHONE, contact_row


class Received:
    """An INBOUND_HANDLER that records what the dialogue would have been given."""

    def __init__(self) -> None:
        self.items: list[InboundMessage] = []

    async def __call__(self, item: InboundMessage) -> None:
        self.items.append(item)


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
async def service(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, received: Received
) -> AsyncIterator[TestClient[Any, Any]]:
    """The service with fakes posting back to it and a recording inbound handler."""
    settings = replace(settings, send_timeout_seconds=1)
    app: web.Application = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    app[INBOUND_HANDLER] = received
    client: TestClient[Any, Any] = await aiohttp_client(app)
    app[FAKES].target = str(client.make_url("")).rstrip("/")
    for channel in app[OUTBOUND].clients.values():
        channel.backoff = 0.01  # type: ignore[attr-defined]
    yield client


def fakes(client: TestClient[Any, Any]) -> FakeProviders:
    return client.app[FAKES]


async def add_contact(
    client: TestClient[Any, Any], phone: str | None = PHONE, chat: str | None = None
) -> Contact:
    async with client.app[SESSIONS].begin() as session:
        contact = contact_row(f"c-{phone or chat}", phone=phone, telegram_chat_id=chat)
        session.add(contact)
    return contact


async def wait_for(check: Callable[[], Awaitable[Any]], what: str, limit: float = 10.0) -> Any:
    """Poll until `check()` is truthy (background processing); fail naming what never happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def message_row(client: TestClient[Any, Any], message_id: int) -> Message:
    async with client.app[SESSIONS]() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        return row


async def webhook_count(client: TestClient[Any, Any]) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundWebhook)) or 0)


async def unprocessed(client: TestClient[Any, Any]) -> int:
    async with client.app[SESSIONS]() as session:
        query = select(func.count()).where(InboundWebhook.processed_at.is_(None))
        return int(await session.scalar(query) or 0)


def wa_payload(value: dict[str, Any]) -> dict[str, Any]:
    """A webhook body as in Meta's payload examples."""
    return webhook_body(value, "100000000000001")


def wa_text(wamid: str, phone: str = "79161234567", text: str = "Привет") -> dict[str, Any]:
    return wa_payload(shopper_writes(phone, wamid, text, at=1772442000))


def wa_status(wamid: str, status: str, code: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": "1772442000",
        "recipient_id": "79161234567",
    }
    if code is not None:
        entry["errors"] = [
            {
                "code": code,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }
        ]
    return wa_payload({"statuses": [entry]})


def wa_signed(payload: Any, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)}
