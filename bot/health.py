"""`GET /health`: the database, the scheduler and the NLU, each ok / degraded / down."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.app_keys import ENGINE, HEALTH_PROBES


async def _database_ok(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(3):
            async with request.app[ENGINE].connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def get_health(request: web.Request) -> web.Response:
    """A probe answers a state, or (state, details) when a number explains it."""
    components: dict[str, str] = {"db": "ok" if await _database_ok(request) else "down"}
    details: dict[str, Any] = {}
    for name, probe in request.app[HEALTH_PROBES].items():
        try:
            value = probe()
            if inspect.isawaitable(value):
                async with asyncio.timeout(3):
                    value = await value
            if isinstance(value, tuple):
                value, details[name] = value
            components[name] = str(value)
        except Exception:
            components[name] = "down"
    components.setdefault("scheduler", "down")
    components.setdefault("nlu", "down")
    body: dict[str, Any] = {"components": components}
    if details:
        body["details"] = details
    if components["db"] != "ok":
        return web.json_response({"status": "degraded", **body}, status=503)
    status = "ok" if all(v == "ok" for v in components.values()) else "degraded"
    return web.json_response({"status": status, **body})
