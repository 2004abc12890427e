"""Wiring of issue 3 (NLU): builds app[CLASSIFIER] and the NLU health probe."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
