"""Running a fake on 127.0.0.1 (ephemeral port) and posting its callbacks back to the service."""

from __future__ import annotations

import logging
import socket

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)


class LoopbackServer:
    """An aiohttp app on an ephemeral loopback port, started and stopped in-process."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self.url = ""

    async def start(self) -> str:
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self.runner, sock)
        await site.start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        await self.runner.cleanup()


class Poster:
    """Posts a fake's webhooks to the service; silently does nothing until `target` is known."""

    def __init__(self) -> None:
        self.target: str | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=32)
        self.session = aiohttp.ClientSession(connector=connector)

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """The service's HTTP status, or 0 when there is no target or it did not answer."""
        if self.target is None or self.session is None:
            return 0
        try:
            async with self.session.post(
                self.target.rstrip("/") + path, data=body, headers=headers
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("fake provider could not reach the service: %s", type(exc).__name__)
            return 0
