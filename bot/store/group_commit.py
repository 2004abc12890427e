"""Group commit: concurrent small writes share one transaction (and one SQLite commit).

When one write of a batch fails, the batch is rolled back and its writes are retried one
transaction each, so a failing write fails alone; the caller awaits only the commit that
carries its write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import SessionFactory
from bot.store.write_lock import write_lock

T = TypeVar("T")
Write = Callable[[AsyncSession], Awaitable[Any]]
log = logging.getLogger(__name__)
_NO_LOCK = contextlib.nullcontext()


class GroupCommit:
    def __init__(self, sessions: SessionFactory, max_writes: int = 500) -> None:
        self.sessions = sessions
        self.max_writes = max_writes
        self.pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self.task: asyncio.Task[None] | None = None
        bind = sessions.kw.get("bind")
        self.lock: contextlib.AbstractAsyncContextManager[Any] | None = (
            write_lock(bind) if bind is not None else None
        )

    async def run(self, write: Callable[[AsyncSession], Awaitable[T]]) -> T:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((write, future))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._loop())
        result: T = await future
        return result

    async def _loop(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.max_writes], self.pending[self.max_writes :]
            try:
                await self._commit(batch)
            except Exception:
                if len(batch) == 1:
                    continue  # its future already carries the error
                for single in batch:  # find the failing write; the others still commit
                    try:
                        await self._commit([single])
                    except Exception:
                        continue

    async def _commit(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> None:
        results: list[tuple[asyncio.Future[Any], Any]] = []
        try:
            lock = self.lock if self.lock is not None else _NO_LOCK
            async with lock, self.sessions.begin() as session:
                for write, future in batch:
                    results.append((future, await write(session)))
        except Exception as exc:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(exc)
            raise
        for future, value in results:
            if not future.done():
                future.set_result(value)
