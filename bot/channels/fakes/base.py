"""What every fake provider shares: where its callbacks go, scripted answers, what it sent."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.channels.fakes.loopback import Poster
from bot.settings import Settings


@dataclass
class Scripted:
    """A canned answer for the next send to one number (tests: 429, 5xx, errors, slowness,
    or `drop`: the request is read, then the connection closed without an answer)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    async def play(self, request: web.Request) -> web.Response:
        """Answer `request` as scripted (after reading it, like the provider would)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop and request.transport is not None:
            request.transport.abort()
            raise asyncio.CancelledError  # nothing more for aiohttp to write
        return web.json_response(self.body, status=self.status, headers=self.headers)


class FakeProvider:
    """The state the tests steer and read: `script` answers the next sends to an address,
    `attempts` counts the sends tried per address, `sent` keeps the accepted ones."""

    def __init__(self, settings: Settings, poster: Poster, *, callbacks: bool = True) -> None:
        self.settings = settings  # the credentials it accepts are the ones the channels send
        self.poster = poster
        self.callbacks = callbacks
        self.script: dict[str, list[Scripted]] = {}
        self.attempts: Counter[str] = Counter()
        self.sent: deque[dict[str, Any]] = deque(maxlen=10_000)

    async def scripted_answer(self, to: str, request: web.Request) -> web.Response | None:
        """The next scripted answer for a send to `to`, played; None when none is left."""
        queue = self.script.get(to)
        return await queue.pop(0).play(request) if queue else None
