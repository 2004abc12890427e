"""`GET /health`: the database, the scheduler and the NLU, each ok / degraded / down."""

from __future__ import annotations

import asyncio
import inspect

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
    components: dict[str, str] = {"db": "ok" if await _database_ok(request) else "down"}
    for name, probe in request.app[HEALTH_PROBES].items():
        try:
            value = probe()
            components[name] = str(await value if inspect.isawaitable(value) else value)
        except Exception:
            components[name] = "down"
    components.setdefault("scheduler", "down")
    components.setdefault("nlu", "down")
    if components["db"] != "ok":
        return web.json_response({"status": "degraded", "components": components}, status=503)
    status = "ok" if all(v == "ok" for v in components.values()) else "degraded"
    return web.json_response({"status": status, "components": components})
