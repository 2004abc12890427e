"""Wiring of issue 6 (operators): the console, its APIs and live updates."""

from __future__ import annotations

from aiohttp import web

from handoff.auth import setup_auth


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    setup_auth(app)
