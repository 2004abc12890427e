"""Wiring of issue 7 (results): recovery report API and dashboard."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
