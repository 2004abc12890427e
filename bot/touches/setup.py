"""Wiring of issue 4 (touches): flows, planner, scheduler tick, sandbox clock and outbox."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
