"""Liveness as a heartbeat: each instance keeps its `instances` row fresh on the wall clock
(never the sandbox clock); one whose row is older than the timeout, or that has none, is gone,
and its claims are taken over by the others (bot/touches/recovery.py). On PostgreSQL the
database's clock stamps and judges heartbeats, so hosts whose clocks drift still agree."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.claims import moment_ago
from bot.store.db import SessionFactory
from bot.store.dialect import engine_of
from bot.store.models import Instance
from bot.store.write_lock import write_lock_for

FORGET_AFTER = timedelta(days=1)  # rows of instances gone this long are deleted


class Heartbeat:
    """This instance's row in `instances`, and who else is alive."""

    def __init__(self, sessions: SessionFactory, instance: str, silent_after: timedelta) -> None:
        self.sessions = sessions
        self.instance = instance
        self.silent_after = silent_after
        self.started_at = datetime.now(UTC)
        self.engine = engine_of(sessions)

    def _write(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return write_lock_for(self.sessions)

    def _ago(self, age: timedelta) -> Any:
        """The moment `age` ago by the clock every instance reads (`moment_ago`)."""
        return moment_ago(self.engine, age)

    async def beat(self) -> None:
        """Refresh this instance's row (written anew if a peer forgot it)."""
        now = self._ago(timedelta(0))
        async with self._write(), self.sessions.begin() as session:
            result = await session.execute(
                update(Instance).where(Instance.id == self.instance).values(heartbeat_at=now)
            )
            if not getattr(result, "rowcount", 0):
                session.add(
                    Instance(
                        id=self.instance,
                        host=socket.gethostname()[:64],
                        pid=os.getpid(),
                        started_at=self.started_at,
                        heartbeat_at=now,
                    )
                )
            forgotten = Instance.heartbeat_at < self._ago(FORGET_AFTER)
            await session.execute(delete(Instance).where(forgotten))

    async def gone(self, claimers: Iterable[str | None]) -> set[str | None]:
        """The claimers that are not alive: no heartbeat within the timeout, or no row (None:
        a claim nobody owns)."""
        wanted = {c for c in claimers if c != self.instance}
        if not wanted:
            return set()
        fresh_since = self._ago(self.silent_after)
        async with self.sessions() as session:
            alive = set(
                await session.scalars(
                    select(Instance.id).where(
                        Instance.id.in_([c for c in wanted if c is not None]),
                        Instance.heartbeat_at >= fresh_since,
                    )
                )
            )
        return wanted - alive
