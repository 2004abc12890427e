"""Group commit: concurrent small writes share one transaction (and one SQLite commit).

Writers queue an item and await its result; one task hands whatever has queued meanwhile to
`commit` (one transaction for the batch), so a quiet service adds no delay and a busy one
commits in bulk. Each writer waits only for the commit that carries its item. When a batch
fails, its items are either committed again one transaction each, so a failing write fails
alone, or all given the batch's error (when a retry is the caller's own business).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import SessionFactory
from bot.store.write_lock import write_lock_for

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
Write = Callable[[AsyncSession], Awaitable[Any]]
log = logging.getLogger(__name__)


def _one(_: object) -> int:
    return 1


@dataclass(eq=False)
class GroupCommit(Generic[ItemT, ResultT]):
    """The one group-commit writer. `commit` writes a batch in one transaction and returns
    one result per item, in order; `size` weighs an item against `max_size` (a batch holds
    at least one item); `before_batch`, when given, runs before each batch is taken (a short
    gather under load)."""

    commit: Callable[[Sequence[ItemT]], Awaitable[Sequence[ResultT]]]
    _: KW_ONLY
    max_size: int = 500
    size: Callable[[ItemT], int] = _one
    alone_on_failure: bool = True
    before_batch: Callable[[], Awaitable[None]] | None = None
    name: str = "group-commit"
    pending: deque[tuple[ItemT, asyncio.Future[ResultT]]] = field(default_factory=deque, init=False)
    committing: list[tuple[ItemT, asyncio.Future[ResultT]]] = field(
        default_factory=list, init=False
    )
    task: asyncio.Task[None] | None = field(default=None, init=False)

    async def submit(self, item: ItemT) -> ResultT:
        """Queue the item; its result once the batch carrying it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ResultT] = loop.create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run(), name=self.name)
        return await future

    @property
    def writing(self) -> bool:
        return bool(self.pending) or (self.task is not None and not self.task.done())

    async def close(self) -> None:
        """Stop the committing task; items queued or in its batch get CancelledError."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        for _, future in [*self.committing, *self.pending]:
            future.cancel()
        self.pending.clear()

    def _take(self) -> list[tuple[ItemT, asyncio.Future[ResultT]]]:
        batch = [self.pending.popleft()]
        size = self.size(batch[0][0])
        while self.pending and size + self.size(self.pending[0][0]) <= self.max_size:
            entry = self.pending.popleft()
            batch.append(entry)
            size += self.size(entry[0])
        return batch

    async def _run(self) -> None:
        while self.pending:
            if self.before_batch is not None:
                await self.before_batch()
            batch = self.committing = self._take()
            try:
                await self._commit(batch)
            except Exception as exc:
                if len(batch) == 1:
                    continue  # its future already carries the error
                if not self.alone_on_failure:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                log.exception("%s: a batch of %d failed; one by one now", self.name, len(batch))
                for single in batch:  # find the failing write; the others still commit
                    try:
                        await self._commit([single])
                    except Exception:
                        continue

    async def _commit(self, batch: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        try:
            results = await self.commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(exc)
            raise
        for (_, future), value in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(value)


class TransactionWrites(GroupCommit[Write, Any]):
    """Group commit of session callables: each runs in the batch's one transaction, under
    the SQLite write lock; a failing one fails alone."""

    def __init__(self, sessions: SessionFactory, max_writes: int = 500) -> None:
        self.lock = write_lock_for(sessions)
        self.sessions = sessions
        super().__init__(self._commit_writes, max_size=max_writes, name="transaction-writes")

    async def run(self, write: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return cast(T, await self.submit(write))

    async def _commit_writes(self, writes: Sequence[Write]) -> list[Any]:
        async with self.lock, self.sessions.begin() as session:
            return [await write(session) for write in writes]
