"""The NLU for the service: app[CLASSIFIER] and the NLU health probe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from aiohttp import web

from bot.app_keys import CLASSIFIER, HEALTH_PROBES, METRICS, NLU_SUPERVISOR, SETTINGS
from nlu.classify import LiveClassifier
from nlu.client import RasaClient
from nlu.multilingual_encoder import multilingual_model
from nlu.sentence_encoder import sentence_model, served_encoder

# The concrete classifier (app[CLASSIFIER] is typed by the protocol only).
LIVE_CLASSIFIER = web.AppKey("nlu_live_classifier", LiveClassifier)


async def _external_status(classifier: LiveClassifier) -> str:
    """NUDGE_NLU_URL: ok only when the server answers /status and the circuit is closed."""
    client = classifier.client
    if client is None or not client.available:
        return "degraded"
    params = {"token": client.token} if client.token else None
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            response = await http.get(f"{client.url}/status", params=params)
    except httpx.HTTPError:
        return "degraded"
    return "ok" if response.status_code == 200 else "degraded"


async def _connect_supervised(app: web.Application) -> AsyncIterator[None]:
    """Runs after bot/app.py `_nlu`: points the classifier at the supervised Rasa server."""
    classifier = app[LIVE_CLASSIFIER]
    supervisor = app.get(NLU_SUPERVISOR)
    if supervisor is not None and classifier.client is None:
        classifier.client = RasaClient(
            lambda: supervisor.url,
            lambda: supervisor.token,
            timeout=app[SETTINGS].nlu_timeout_seconds,
        )
        classifier.ready = lambda: supervisor.status == "ok"
        app[HEALTH_PROBES]["nlu"] = lambda: classifier.status
    warming = None
    if classifier.encoder is not None and classifier.client is not None:
        # loading torch and the encoders takes seconds: not on the first reply's time
        warming = asyncio.create_task(asyncio.to_thread(_load_encoders))
    yield
    if warming is not None:
        with contextlib.suppress(Exception):
            await warming
    with contextlib.suppress(Exception):
        await classifier.aclose()


def _load_encoders() -> None:
    with contextlib.suppress(Exception):  # a failed load is logged and remembered where it is
        multilingual_model()
    sentence_model()


def setup(app: web.Application) -> None:
    """app[CLASSIFIER]: rules always; free text via NUDGE_NLU_URL or the supervised server."""
    settings = app[SETTINGS]
    metrics = app[METRICS]
    classifier = LiveClassifier(
        RasaClient(settings.nlu_url, settings.nlu_token, timeout=settings.nlu_timeout_seconds)
        if settings.nlu_url
        else None,
        settings.nlu_threshold,
        observe=metrics.nlu_seconds.observe,
        encoder=served_encoder(settings.root),
    )
    app[LIVE_CLASSIFIER] = classifier
    app[CLASSIFIER] = classifier
    if settings.nlu_url:
        app[HEALTH_PROBES]["nlu"] = lambda: _external_status(classifier)
    else:
        app[HEALTH_PROBES]["nlu"] = lambda: classifier.status
    app.cleanup_ctx.append(_connect_supervised)
