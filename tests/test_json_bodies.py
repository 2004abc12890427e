"""Every endpoint that reads JSON answers a 4xx, never a 500, to a body of any shape (R-PS6):
deep nesting, huge numbers, non-finite numbers, odd encodings, unstorable strings."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app_keys import SETTINGS
from bot.channels.whatsapp import sign
from bot.safejson import JSONBodyError, loads
from tests.conftest import AUTH

Client = TestClient[Any, Any]
Staff = dict[str, dict[str, str]]

BODIES = {
    "deep arrays": b"[" * 100_000,
    "deep objects": b'{"a":' * 100_000,
    "65 levels": b"[" * 65 + b"]" * 65,
    "huge integer": b'{"id": ' + b"9" * 5000 + b"}",
    "long integer": b'{"id": ' + b"9" * 100 + b"}",
    "infinite float": b'{"advance_seconds": 1e999}',
    "NaN": b'{"advance_seconds": NaN}',
    "UTF-16": '{"id": "x"}'.encode("utf-16"),
    "Latin-1": '{"text": "café"}'.encode("latin-1"),
    "byte order mark": b'\xef\xbb\xbf{"id": "x"}',
    "lone surrogate": b'{"text": "\\ud800"}',
    "NUL in a string": b'{"text": "a\\u0000b"}',
    "NUL in a key": b'{"a\\u0000": 1}',
}

SANDBOX = [
    "/sandbox/clock",
    "/sandbox/inbound",
    "/sandbox/phone/send",
    "/sandbox/providers/whatsapp/unavailable",
]
CONSOLE = [
    "/console/api/conversations/1/reply",
    "/console/api/conversations/1/release",
    "/console/api/operators",
]


def test_the_loader_names_what_is_wrong() -> None:
    for name, body in BODIES.items():
        with pytest.raises(JSONBodyError):
            loads(body)
        assert name
    assert loads(b"[" * 64 + b"]" * 64) is not None
    assert loads('{"text": "привет 你好 😀", "n": 12.5, "k": -3}'.encode()) == {
        "text": "привет 你好 😀",
        "n": 12.5,
        "k": -3,
    }


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_events_api(client: Client, name: str) -> None:
    headers = AUTH | {"Content-Type": "application/json"}
    response = await client.post("/api/v1/events", data=BODIES[name], headers=headers)
    assert response.status == 400, (name, await response.text())
    assert (await response.json())["error"]


@pytest.mark.parametrize("name", ["deep arrays", "deep objects", "huge integer", "UTF-16"])
async def test_sandbox_endpoints(client: Client, name: str) -> None:
    for path in SANDBOX:
        response = await client.post(
            path, data=BODIES[name], headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, (path, name, await response.text())
        assert (await response.json())["error"]
    retry = await client.post("/sandbox/shop/retry", data=BODIES[name])
    assert retry.status < 500


@pytest.mark.parametrize("name", ["deep arrays", "deep objects", "lone surrogate", "Latin-1"])
async def test_console_api(client: Client, staff: Staff, name: str) -> None:
    for path in CONSOLE:
        response = await client.post(path, data=BODIES[name], headers=staff["admin"])
        assert response.status == 400, (path, name, await response.text())


@pytest.mark.parametrize("name", ["deep arrays", "deep objects", "huge integer", "NUL in a key"])
async def test_signed_webhooks(client: Client, name: str) -> None:
    settings = client.app[SETTINGS]
    body = BODIES[name]
    whatsapp = await client.post(
        "/webhooks/whatsapp",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, settings.whatsapp_app_secret),
        },
    )
    assert whatsapp.status == 400, (name, await whatsapp.text())
    telegram = await client.post(
        "/webhooks/telegram",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": settings.telegram_secret_token,
        },
    )
    assert telegram.status == 400, (name, await telegram.text())
