"""The application factory: composes storage, API, scheduler, NLU and the web surfaces."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot import nlu_service
from bot.api.batcher import IngestBatcher
from bot.api.events import INGEST, post_events
from bot.api.keys import KeyRing
from bot.api.openapi import get_openapi
from bot.app_keys import (
    CLOCK,
    ENGINE,
    EVENT_LISTENERS,
    HEALTH_PROBES,
    KEYRING,
    METRICS,
    NLU_SUPERVISOR,
    SCHEDULER,
    SESSIONS,
    SETTINGS,
)
from bot.channels import setup as channels_setup
from bot.clock import Clock, SandboxClock
from bot.dialogue import setup as dialogue_setup
from bot.health import get_health
from bot.integrations import setup as integrations_setup
from bot.metrics import Metrics, get_metrics
from bot.reports import setup as reports_setup
from bot.sandbox.loopback import loopback_only
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade_to_head_async
from bot.touches import setup as touches_setup
from flows.designer import DesignerFiles
from handoff.web import setup as console_setup
from nlu.supervisor import RasaSupervisor


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await upgrade_to_head_async(settings.database_url)
    engine = make_engine(settings.database_url)
    app[ENGINE] = engine
    app[SESSIONS] = make_session_factory(engine)
    app[KEYRING] = KeyRing(app[SESSIONS], settings.api_key)
    app[INGEST] = IngestBatcher(app[SESSIONS], app[CLOCK], app[EVENT_LISTENERS])
    app[INGEST].start()
    yield
    await app[INGEST].stop()
    await engine.dispose()


async def _nlu(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.nlu_url:
        yield
        return
    supervisor = RasaSupervisor(settings.root, settings.nlu_port, settings.nlu_token or None)
    app[NLU_SUPERVISOR] = supervisor
    app[HEALTH_PROBES]["nlu"] = lambda: supervisor.status
    await supervisor.start()
    yield
    await supervisor.stop()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    scheduler = app[SCHEDULER]
    app[HEALTH_PROBES]["scheduler"] = lambda: scheduler.status
    scheduler.start()
    yield
    await scheduler.stop()


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_nlu: bool = True,
    run_scheduler: bool = True,
) -> web.Application:
    """Build the service. Tests pass `run_nlu=False` to use `NUDGE_NLU_URL` or none."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    if settings.sandbox:
        app.middlewares.append(loopback_only)
    app[SETTINGS] = settings
    app[CLOCK] = clock or (SandboxClock() if settings.sandbox else Clock())
    app[METRICS] = Metrics()
    app[EVENT_LISTENERS] = []
    app[HEALTH_PROBES] = {}
    app[SCHEDULER] = Scheduler(app[CLOCK], settings.scheduler_interval_seconds)
    app.cleanup_ctx.append(_storage)
    if run_nlu:
        app.cleanup_ctx.append(_nlu)
    if run_scheduler:
        app.cleanup_ctx.append(_scheduler)

    app.router.add_get("/health", get_health)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/api/openapi.json", get_openapi)
    app.router.add_post("/api/v1/events", post_events)

    designer_files = DesignerFiles(settings.root)
    designer_files.load()
    # Order matters: the NLU and the channels exist before the parts that use them.
    nlu_service.setup(app)
    channels_setup.setup(app, designer_files)
    touches_setup.setup(app, designer_files)
    dialogue_setup.setup(app, designer_files)
    console_setup.setup(app)
    reports_setup.setup(app, designer_files)
    integrations_setup.setup(app, designer_files)
    return app
