"""bot/nlu_service.py: app[CLASSIFIER] and the `nlu` health probe, with and without an NLU."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.app_keys import CLASSIFIER
from bot.clock import SandboxClock
from bot.settings import Settings


@pytest.fixture
async def fake_rasa() -> AsyncIterator[str]:
    async def status(request: web.Request) -> web.Response:
        if request.query.get("token") != "tok":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"model_file": "nlu.tar.gz"})

    async def parse(request: web.Request) -> web.Response:
        return web.json_response({"intent": {"name": "discount", "confidence": 0.9}})

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_post("/model/parse", parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def _app_client(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> TestClient[Any, Any]:
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def test_without_nlu_rules_work_and_health_is_degraded(
    client: TestClient[Any, Any],
) -> None:
    classifier = client.app[CLASSIFIER]
    assert (await classifier.classify("СТОП")).intent == "opt_out"
    assert (await classifier.classify("1", {"1": "payment"})).intent == "payment"
    assert (await classifier.classify("сколько стоит доставка")).source == "unavailable"
    health = await (await client.get("/health")).json()
    assert health["components"]["nlu"] == "degraded"


async def test_external_nlu_url_is_used_and_healthy(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, fake_rasa: str
) -> None:
    client = await _app_client(
        aiohttp_client, replace(settings, nlu_url=fake_rasa, nlu_token="tok"), clock
    )
    result = await client.app[CLASSIFIER].classify("any promo codes?")
    assert (result.intent, result.source) == ("discount", "model")
    health = await (await client.get("/health")).json()
    assert health["components"]["nlu"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "nudge_nlu_seconds_count 1.0" in metrics


async def test_external_nlu_down_is_degraded_not_a_crash(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = await _app_client(aiohttp_client, replace(settings, nlu_url=dead), clock)
    result = await client.app[CLASSIFIER].classify("where is my parcel")
    assert (result.intent, result.source) == ("other", "unavailable")
    response = await client.get("/health")
    assert response.status == 200
    assert (await response.json())["components"]["nlu"] == "degraded"
