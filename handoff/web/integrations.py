"""`GET /console/api/integrations` (admins): each shop integration's state (R-IN4)."""

from __future__ import annotations

from aiohttp import web

from bot.integrations.status import INTEGRATIONS
from handoff.auth import requires


@requires("admin")
async def get_integrations(request: web.Request) -> web.Response:
    states = request.app[INTEGRATIONS].values()
    return web.json_response({"integrations": [state.as_dict() for state in states]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/api/integrations", get_integrations)
