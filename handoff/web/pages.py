"""The console's pages: static HTML and script, served only to logged-in operators."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handoff.auth import requires

STATIC = Path(__file__).parent / "static"
_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}


def _file(name: str) -> web.Response:
    path = STATIC / name
    return web.Response(
        body=path.read_bytes(),
        content_type=_TYPES[path.suffix],
        charset="utf-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


@requires("operator")
async def get_console(request: web.Request) -> web.Response:
    return _file("console.html")


@requires("admin")
async def get_admin(request: web.Request) -> web.Response:
    return _file("admin.html")


@requires("operator")
async def get_static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ("console.js", "console.css"):
        raise web.HTTPNotFound()
    return _file(name)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", get_console)
    app.router.add_get("/console/", get_console)
    app.router.add_get("/console/admin", get_admin)
    app.router.add_get("/console/static/{name}", get_static)
