"""Wiring of issue 5 (channels): provider clients, app[OUTBOUND], webhooks, fake providers."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
