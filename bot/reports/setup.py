"""Results in the app: the recovery report API, the attribution listener and the dashboard."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.app_keys import EVENT_LISTENERS, SCHEDULER, SESSIONS
from bot.reports.api import get_timeseries, recovery_builder, shop_endpoint
from bot.reports.attribution import make_listener
from bot.reports.dashboard import setup_dashboard
from bot.reports.outcomes import refresh_outcomes
from flows.designer import DesignerFiles


def setup(app: web.Application, designer_files: DesignerFiles) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    build_recovery = recovery_builder(lambda: designer_files.shop().prices)
    app.router.add_get("/api/v1/reports/recovery", shop_endpoint(build_recovery))
    app.router.add_get("/api/v1/reports/timeseries", get_timeseries)
    app[EVENT_LISTENERS].append(make_listener(app))
    setup_dashboard(app, build_recovery)

    async def refresh(_now: datetime) -> None:
        await refresh_outcomes(app[SESSIONS])

    # reports refresh before reading anyway; this keeps the stale list short between them
    app[SCHEDULER].add_cron("report-outcomes", refresh, minute="*")
