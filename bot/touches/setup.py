"""The touches part on the application: the designer files, the planner, the firing tick,
heartbeat, sweeper and retention jobs, the timeline route, the sandbox clock and outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web

from bot.app_keys import (
    CLOCK,
    EVENT_LISTENERS,
    FIRING,
    FLOWS,
    METRICS,
    OUTBOUND,
    SCHEDULER,
    SESSIONS,
    SETTINGS,
    STATUS_LISTENERS,
)
from bot.sandbox import clock_outbox
from bot.touches.fallback import status_listener
from bot.touches.firing import Firing
from bot.touches.liveness import Heartbeat
from bot.touches.planning import Planner
from bot.touches.recovery import Sweeper, send_deadline
from bot.touches.retention import purge
from bot.touches.timeline import get_timeline
from flows.designer import DesignerFiles

log = logging.getLogger(__name__)


async def _touches(app: web.Application) -> AsyncIterator[None]:
    settings, holder = app[SETTINGS], app[FLOWS]
    firing = Firing(app[SESSIONS], app[CLOCK], settings, holder, app[OUTBOUND], app[METRICS])
    app[FIRING] = firing
    silent_after = timedelta(seconds=settings.instance_timeout_seconds)
    heartbeat = Heartbeat(app[SESSIONS], firing.instance, silent_after)
    sweeper = Sweeper(app[SESSIONS], heartbeat, send_deadline(settings), app[OUTBOUND])
    await heartbeat.beat()  # before the first claim: peers must see this instance alive
    await sweeper.sweep(app[CLOCK].now())
    scheduler = app[SCHEDULER]

    async def keep_alive() -> None:
        await heartbeat.beat()
        await sweeper.sweep(app[CLOCK].now())

    async def reload_flows(now: datetime) -> None:
        await asyncio.to_thread(holder.check)

    async def purge_old(now: datetime) -> None:
        await purge(app[SESSIONS], now, settings.retention_days)

    scheduler.add_tick("flows-reload", reload_flows)
    scheduler.add_tick("due-touches", firing.tick)
    scheduler.add_interval("heartbeat", keep_alive, settings.heartbeat_seconds)
    scheduler.add_cron("retention-purge", purge_old, hour=3, minute=17)
    yield


def setup(app: web.Application, designer_files: DesignerFiles) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    settings = app[SETTINGS]
    if not designer_files.current.flows:
        log.error("the flow set has problems; no touches are planned until it is fixed")
    app[FLOWS] = designer_files
    app[EVENT_LISTENERS].append(Planner(settings, designer_files).on_events)
    app[STATUS_LISTENERS].append(status_listener(app))
    app.cleanup_ctx.append(_touches)
    app.router.add_get("/api/v1/contacts/{id}/timeline", get_timeline)
    if settings.sandbox:
        clock_outbox.setup(app)
