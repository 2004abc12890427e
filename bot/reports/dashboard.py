"""`/console/dashboard` (admin) and its session-authenticated JSON, sharing the report SQL."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.reports.api import Builder, build_timeseries, run_report
from handoff.auth import Handler, requires

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/console/reports-static"
_SHOP_PARAM = "shop"


def _page() -> str:
    return (STATIC_DIR / "dashboard.html").read_text(encoding="utf-8")


@requires("admin")
async def get_dashboard(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=_page(),
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'"},
    )


def _console_endpoint(build: Builder) -> Handler:
    @requires("admin")
    async def handler(request: web.Request) -> web.StreamResponse:
        # operators are not tied to a shop: the console reads `shop` (default "default")
        shop = request.query.get(_SHOP_PARAM) or "default"
        if len(shop) > 64:
            return web.json_response({"error": "shop: at most 64 characters"}, status=422)
        params = {k: v for k, v in request.query.items() if k != _SHOP_PARAM}
        return await run_report(request, shop, build, params)

    return handler


def setup_dashboard(app: web.Application, build_recovery: Builder) -> None:
    app.router.add_get("/console/dashboard", get_dashboard)
    app.router.add_get("/console/api/reports/recovery", _console_endpoint(build_recovery))
    app.router.add_get("/console/api/reports/timeseries", _console_endpoint(build_timeseries))
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, append_version=False)
