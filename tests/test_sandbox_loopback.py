"""`/sandbox/*` answers loopback clients only, whatever X-Forwarded-For claims."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.clock import SandboxClock
from bot.sandbox.loopback import is_loopback
from bot.settings import Settings

SANDBOX_ROUTES = [
    ("GET", "/sandbox/phone"),
    ("GET", "/sandbox/phone/contacts"),
    ("GET", "/sandbox/outbox?contact_id=c1"),
    ("POST", "/sandbox/clock"),
    ("POST", "/sandbox/inbound"),
    ("GET", "/sandbox/conversations/c1"),
    ("POST", "/sandbox/providers/whatsapp/unavailable"),
]


def _outside_address() -> str | None:
    """This machine's own non-loopback IPv4 address: a client from it is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it picks a route
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if is_loopback(address) else address


@pytest.fixture
async def server(settings: Settings, clock: SandboxClock) -> AsyncIterator[TestServer]:
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    test_server = TestServer(app, host="0.0.0.0")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def _status(url: str, method: str, headers: dict[str, str] | None = None) -> int:
    body: Any = {"advance_seconds": 0} if method == "POST" else None
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as response,
    ):
        return response.status


async def test_sandbox_refuses_clients_that_are_not_loopback(server: TestServer) -> None:
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    base = f"http://{outside}:{server.port}"
    assert await _status(base + "/health", "GET") in (200, 503)  # the service itself answers
    for method, path in SANDBOX_ROUTES:
        assert await _status(base + path, method) == 403, path
        spoofed = {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
        assert await _status(base + path, method, spoofed) == 403, path


async def test_sandbox_answers_loopback_but_not_through_a_proxy(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert await _status(base + "/sandbox/phone", "GET") == 200
    assert await _status(base + "/sandbox/phone/contacts", "GET") == 200
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    assert await _status(base + "/sandbox/phone/contacts", "GET", proxied) == 403
    assert await _status(base + "/sandbox/clock", "POST", proxied) == 403


@pytest.mark.parametrize(
    ("remote", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.2", False),
        ("::ffff:192.0.2.2", False),
        ("fd00::2", False),
        ("", False),
        (None, False),
        ("localhost", False),
    ],
)
def test_is_loopback(remote: str | None, loopback: bool) -> None:
    assert is_loopback(remote) is loopback
