"""Results in the app: the recovery report API, the attribution listener and the dashboard."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.app_keys import EVENT_LISTENERS, SCHEDULER, SESSIONS
from bot.reports.api import get_recovery, get_timeseries
from bot.reports.attribution import make_listener
from bot.reports.dashboard import setup_dashboard
from bot.reports.outcomes import refresh_outcomes


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    app.router.add_get("/api/v1/reports/recovery", get_recovery)
    app.router.add_get("/api/v1/reports/timeseries", get_timeseries)
    app[EVENT_LISTENERS].append(make_listener(app))
    setup_dashboard(app)

    async def refresh(_now: datetime) -> None:
        await refresh_outcomes(app[SESSIONS])

    # reports refresh before reading anyway; this keeps the stale list short between them
    app[SCHEDULER].add_cron("report-outcomes", refresh, minute="*")
