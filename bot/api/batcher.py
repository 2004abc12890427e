"""Group commit for the events API: concurrent requests share one transaction.

Requests queue their validated events on the store's group commit; a group is applied per
shop in one transaction, so a quiet service adds no delay and a busy one commits in bulk.
A failing group is retried request by request, so one request cannot sink its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.api.ingest import EventListener, apply_events
from bot.api.schemas import ShopEvent
from bot.clock import Clock
from bot.store.db import SessionFactory
from bot.store.group_commit import GroupCommit


@dataclass(frozen=True)
class _Request:
    shop: str
    events: Sequence[ShopEvent]


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
        self._writes: GroupCommit[_Request, set[str]] = GroupCommit(
            self._apply_group,
            max_size=max_events,
            size=lambda request: len(request.events),
            name="ingest-batcher",
        )
        self._running = False

    def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        await self._writes.close()

    async def submit(self, shop: str, events: Sequence[ShopEvent]) -> set[str]:
        """Apply the events; return the ids this request was first to record."""
        if not self._running:
            return (await self._apply_group([_Request(shop, events)]))[0]
        return await self._writes.submit(_Request(shop, events))

    async def _apply_group(self, group: Sequence[_Request]) -> list[set[str]]:
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
        return [results[id(request)] for request in group]
