"""Group commit for the events API: concurrent requests share one transaction.

Requests queue their validated events; one worker applies whatever has queued while the
previous transaction ran, so a quiet service adds no delay and a busy one commits in bulk.
A failing group is retried request by request, so one request cannot sink its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.api.ingest import EventListener, apply_events
from bot.api.schemas import ShopEvent
from bot.clock import Clock
from bot.store.db import SessionFactory

log = logging.getLogger(__name__)


@dataclass
class _Request:
    shop: str
    events: Sequence[ShopEvent]
    done: asyncio.Future[set[str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IngestBatcher:
    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        listeners: list[EventListener],
        max_events: int = 2000,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._listeners = listeners
        self._max_events = max_events
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="ingest-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def submit(self, shop: str, events: Sequence[ShopEvent]) -> set[str]:
        """Apply the events; return the ids this request was first to record."""
        if self._worker is None or self._worker.done():
            return await self._apply_alone(_Request(shop, events))
        request = _Request(shop, events)
        await self._queue.put(request)
        return await request.done

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = len(group[0].events)
            while size < self._max_events and not self._queue.empty():
                request = self._queue.get_nowait()
                group.append(request)
                size += len(request.events)
            try:
                await self._apply_group(group)
            except Exception:
                log.exception("group of %d requests failed; applying one by one", len(group))
                for request in group:
                    if request.done.done():
                        continue
                    try:
                        request.done.set_result(await self._apply_alone(request))
                    except Exception as exc:
                        request.done.set_exception(exc)

    async def _apply_alone(self, request: _Request) -> set[str]:
        async with self._sessions.begin() as session:
            return await apply_events(
                session, request.shop, request.events, self._clock.now(), self._listeners
            )

    async def _apply_group(self, group: list[_Request]) -> None:
        by_shop: dict[str, list[_Request]] = {}
        for request in group:
            by_shop.setdefault(request.shop, []).append(request)
        results: dict[int, set[str]] = {}
        now = self._clock.now()
        async with self._sessions.begin() as session:
            for shop, requests in by_shop.items():
                events = [event for request in requests for event in request.events]
                new_ids = await apply_events(session, shop, events, now, self._listeners)
                claimed: set[str] = set()
                for request in requests:
                    mine = {e.id for e in request.events if e.id in new_ids} - claimed
                    claimed |= mine
                    results[id(request)] = mine
        for request in group:
            if not request.done.done():
                request.done.set_result(results[id(request)])
