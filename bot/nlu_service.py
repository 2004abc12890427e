"""The NLU for the service: app[CLASSIFIER] and the NLU health probe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from tenacity import AsyncRetrying, retry_if_result, wait_exponential

from bot.app_keys import CLASSIFIER, HEALTH_PROBES, METRICS, NLU_SUPERVISOR, SETTINGS
from nlu.classify import LiveClassifier
from nlu.client import RasaClient
from nlu.multilingual_encoder import multilingual_model
from nlu.sentence_encoder import encoder_for_served, sentence_model, served_encoder

# The concrete classifier (app[CLASSIFIER] is typed by the protocol only).
LIVE_CLASSIFIER = web.AppKey("nlu_live_classifier", LiveClassifier)


class ExternalModel:
    """NUDGE_NLU_URL: blends in the sentence encoders fitted with the model the external server
    names, and only those; follows the server when it names another model."""

    def __init__(self, classifier: LiveClassifier, root: Path) -> None:
        self.classifier = classifier
        self.root = root
        self.model_file: str | None = None

    async def status(self) -> str:
        """ok only when the server answers /status and the circuit is closed."""
        client = self.classifier.client
        if client is None or not client.available:
            return "degraded"
        return "ok" if await self.asked_once() is not None else "degraded"

    def follow(self, model_file: str) -> None:
        if model_file != self.model_file:
            self.model_file = model_file
            self.classifier.encoder = encoder_for_served(self.root, model_file)

    async def asked_once(self, answer_within: float | None = 1.0) -> str | None:
        """The model the server names now (followed), or None when it does not answer
        (`answer_within` None: the client's own timeout)."""
        client = self.classifier.client
        model_file = None if client is None else await client.served_model(answer_within)
        if model_file is not None:
            self.follow(model_file)
        return model_file

    async def find(self) -> None:
        """Asks the server which model it serves until it answers (it may start after us)."""
        if self.classifier.client is None:
            return
        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=0.5, max=30),
            retry=retry_if_result(lambda model_file: model_file is None),
        )
        await retrying(self.asked_once, answer_within=None)
        if self.classifier.encoder is not None:
            await asyncio.to_thread(_load_encoders)


EXTERNAL_MODEL = web.AppKey("nlu_external_model", ExternalModel)


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
    external = app.get(EXTERNAL_MODEL)
    finding = None
    # one quick question before the first reply; a server that starts later is asked again
    if external is not None and await external.asked_once() is None:
        finding = asyncio.create_task(external.find())
    warming = None
    if classifier.encoder is not None and classifier.client is not None:
        # loading torch and the encoders takes seconds: not on the first reply's time
        warming = asyncio.create_task(asyncio.to_thread(_load_encoders))
    yield
    if finding is not None:
        finding.cancel()
        with contextlib.suppress(BaseException):
            await finding
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
        # an external server's scorer is known once it names its model (ExternalModel)
        encoder=None if settings.nlu_url else served_encoder(settings.root),
    )
    app[LIVE_CLASSIFIER] = classifier
    app[CLASSIFIER] = classifier
    if settings.nlu_url:
        external = ExternalModel(classifier, settings.root)
        app[EXTERNAL_MODEL] = external
        app[HEALTH_PROBES]["nlu"] = external.status
    else:
        app[HEALTH_PROBES]["nlu"] = lambda: classifier.status
    app.cleanup_ctx.append(_connect_supervised)
