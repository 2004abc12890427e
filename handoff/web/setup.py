"""The operator console in the app: its pages, its APIs and live updates."""

from __future__ import annotations

from aiohttp import web

from handoff.auth import setup_auth
from handoff.notify import setup_notifications
from handoff.web import api, integrations, pages
from handoff.web.live import setup_live


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    setup_auth(app)
    setup_live(app)
    api.add_routes(app)
    pages.add_routes(app)
    integrations.add_routes(app)
    setup_notifications(app)
