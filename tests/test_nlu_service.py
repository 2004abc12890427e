"""bot/nlu_service.py: app[CLASSIFIER] and the `nlu` health probe, with and without an NLU."""

from __future__ import annotations

import asyncio
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
from bot.nlu_service import LIVE_CLASSIFIER
from bot.settings import PROJECT_ROOT, Settings
from nlu.classify import build_classifier
from nlu.multilingual_encoder import WEIGHT, MultilingualScorer, MultilingualUnavailable
from nlu.sentence_encoder import EncoderScorer, EncoderUnavailable, served_encoder
from nlu.supervisor import latest_model
from nlu.types import Classification
from tests.channels_fixtures import wait_for
from tests.rasa_fixture import unavailable

# a model file this service's models/ does not hold
ANOTHER_MODEL = "nlu-0000000000000000.tar.gz"


class Served:
    """The model file the fake server names on /status: by default the one models/ serves."""

    def __init__(self) -> None:
        newest = latest_model(PROJECT_ROOT / "models")
        self.model_file = newest.name if newest is not None else "nlu.tar.gz"


@pytest.fixture
def served() -> Served:
    return Served()


@pytest.fixture
async def fake_rasa(served: Served) -> AsyncIterator[str]:
    async def status(request: web.Request) -> web.Response:
        if request.query.get("token") != "tok":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"model_file": served.model_file})

    async def parse(request: web.Request) -> web.Response:
        if (await request.json())["text"] == "I have lost interest in this purchase":
            # Rasa alone leans to the wrong intent; the English encoder's reading tips it
            ranking = [
                {"name": "product_question", "confidence": 0.4},
                {"name": "decline", "confidence": 0.35},
                {"name": "other", "confidence": 0.25},
            ]
            return web.json_response({"intent": ranking[0], "intent_ranking": ranking})
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


async def _on_fake_rasa(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, fake_rasa: str
) -> TestClient[Any, Any]:
    """The app with NUDGE_NLU_URL pointing at the fake server (token "tok")."""
    return await _app_client(
        aiohttp_client, replace(settings, nlu_url=fake_rasa, nlu_token="tok"), clock
    )


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
    client = await _on_fake_rasa(aiohttp_client, settings, clock, fake_rasa)
    result = await client.app[CLASSIFIER].classify("any promo codes?")
    assert (result.intent, result.source) == ("discount", "model")
    health = await (await client.get("/health")).json()
    assert health["components"]["nlu"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "nudge_nlu_seconds_count 1.0" in metrics


async def test_replies_get_the_sentence_encoders_readings(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, fake_rasa: str
) -> None:
    client = await _on_fake_rasa(aiohttp_client, settings, clock, fake_rasa)
    classifier = client.app[CLASSIFIER]
    encoder = _served()
    result = await classifier.classify("I have lost interest in this purchase")
    assert (result.intent, result.detail, result.source) == ("opt_out", "decline", "model")
    # no ranking from the server: its intent is blended, not dropped
    text = "any promo codes for me?"
    result = await classifier.classify(text)
    assert (result.intent, result.detail) == ("discount", "discount")
    english = encoder.probabilities(text)["discount"]
    multilingual = _multilingual(encoder).probabilities(text)["discount"]
    expected = (1 - WEIGHT) * (0.5 * 0.9 + 0.5 * english) + WEIGHT * multilingual
    assert result.confidence == pytest.approx(expected)
    # not English: Rasa's reading and the multilingual one
    text = "есть промокод?"
    result = await classifier.classify(text)
    multilingual = _multilingual(encoder).probabilities(text)["discount"]
    assert result.intent == "discount"
    assert result.confidence == pytest.approx((1 - WEIGHT) * 0.9 + WEIGHT * multilingual)


def _served() -> EncoderScorer:
    """The encoder the service loads from models/ (a failure in CI, else a skip, without one)."""
    encoder = served_encoder(PROJECT_ROOT)
    if encoder is None:
        unavailable("no model with a sentence encoder in models/ (nudge train)")
    assert encoder is not None
    return encoder


def _multilingual(encoder: EncoderScorer) -> MultilingualScorer:
    assert encoder.multilingual is not None, "nudge train saves the multilingual scorer too"
    return encoder.multilingual


async def _read_with_failure(
    fake_rasa: str, monkeypatch: pytest.MonkeyPatch, scorer: object, error: Exception
) -> Classification:
    def fail(text: str) -> dict[str, float]:
        raise error

    monkeypatch.setattr(scorer, "probabilities", fail)
    classifier = build_classifier(fake_rasa, "tok", encoder=_served())
    try:
        return await classifier.classify("any promo codes for me?")
    finally:
        await classifier.aclose()


async def test_an_english_encoder_that_cannot_load_leaves_the_other_readings(
    fake_rasa: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = _served()
    result = await _read_with_failure(
        fake_rasa, monkeypatch, encoder, EncoderUnavailable("no torch")
    )
    multilingual = _multilingual(encoder).probabilities("any promo codes for me?")["discount"]
    assert (result.intent, result.source) == ("discount", "model")
    assert result.confidence == pytest.approx((1 - WEIGHT) * 0.9 + WEIGHT * multilingual)


async def test_a_multilingual_encoder_that_cannot_load_leaves_the_english_reading(
    fake_rasa: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = _served()
    result = await _read_with_failure(
        fake_rasa, monkeypatch, _multilingual(encoder), MultilingualUnavailable("no weights")
    )
    english = encoder.probabilities("any promo codes for me?")["discount"]
    assert (result.intent, result.source) == ("discount", "model")
    assert result.confidence == pytest.approx(0.5 * 0.9 + 0.5 * english)


async def test_a_failing_encoder_leaves_rasas_reading(
    fake_rasa: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await _read_with_failure(
        fake_rasa, monkeypatch, _served(), RuntimeError("Already borrowed")
    )
    assert (result.intent, result.source, result.confidence) == ("discount", "model", 0.9)


async def test_english_replies_at_once_all_get_the_encoder(fake_rasa: str) -> None:
    encoder = _served()
    classifier = build_classifier(fake_rasa, "tok", encoder=encoder)
    try:
        results = await asyncio.gather(
            *(classifier.classify("I have lost interest in this purchase") for _ in range(8))
        )
    finally:
        await classifier.aclose()
    assert {(r.intent, r.detail, r.source) for r in results} == {("opt_out", "decline", "model")}


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


async def test_a_server_serving_another_model_is_read_without_local_encoders(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    fake_rasa: str,
    served: Served,
) -> None:
    served.model_file = ANOTHER_MODEL
    client = await _on_fake_rasa(aiohttp_client, settings, clock, fake_rasa)
    classifier = client.app[CLASSIFIER]
    result = await classifier.classify("any promo codes for me?")
    assert (result.intent, result.source, result.confidence) == ("discount", "model", 0.9)
    result = await classifier.classify("I have lost interest in this purchase")
    assert (result.intent, result.detail) == ("other", "product_question")  # Rasa's own reading


async def test_the_encoders_follow_the_model_the_server_names(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: SandboxClock,
    fake_rasa: str,
    served: Served,
) -> None:
    encoder = _served()
    newest = served.model_file
    served.model_file = ANOTHER_MODEL
    client = await _on_fake_rasa(aiohttp_client, settings, clock, fake_rasa)
    classifier = client.app[CLASSIFIER]
    assert client.app[LIVE_CLASSIFIER].encoder is None
    served.model_file = newest  # the server was given this service's model
    health = await (await client.get("/health")).json()
    assert health["components"]["nlu"] == "ok"
    assert client.app[LIVE_CLASSIFIER].encoder is encoder
    result = await classifier.classify("I have lost interest in this purchase")
    assert (result.intent, result.detail) == ("opt_out", "decline")


async def test_a_server_that_starts_later_is_asked_again(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> None:
    encoder = _served()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await _app_client(
        aiohttp_client, replace(settings, nlu_url=f"http://127.0.0.1:{port}"), clock
    )
    live = client.app[LIVE_CLASSIFIER]
    assert live.encoder is None
    rasa = web.Application()
    rasa.router.add_get("/status", lambda _: _named(Served().model_file))
    server = TestServer(rasa, host="127.0.0.1", port=port)
    await server.start_server()
    try:

        async def found() -> bool:
            return live.encoder is encoder

        await wait_for(found, "the app asks the late server which model it serves")
    finally:
        await server.close()


async def _named(model_file: str) -> web.Response:
    return web.json_response({"model_file": model_file})
