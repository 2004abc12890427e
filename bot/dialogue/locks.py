"""One asyncio lock per conversation, so one shopper's messages are handled one at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ConversationLocks:
    """Locks created on first use and dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, contact_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(contact_id, asyncio.Lock())
        self._users[contact_id] = self._users.get(contact_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[contact_id] -= 1
            if self._users[contact_id] == 0:
                del self._users[contact_id]
                del self._locks[contact_id]

    def __len__(self) -> int:
        return len(self._locks)
