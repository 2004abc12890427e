"""One in-process queue for our own SQLite writes."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.store.dialect import engine_of, is_sqlite

_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def write_lock(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    """SQLite has one writer: our own writes queue here instead of in SQLite's busy handler,
    which sleeps up to 100 ms per retry. PostgreSQL needs no such thing."""
    if not is_sqlite(engine):
        return contextlib.nullcontext()
    lock = _LOCKS.get(engine)
    if lock is None:
        lock = _LOCKS[engine] = asyncio.Lock()
    return lock


def write_lock_for(
    sessions: async_sessionmaker[AsyncSession],
) -> contextlib.AbstractAsyncContextManager[Any]:
    """The write lock of the engine a session factory is bound to; none without an engine."""
    engine = engine_of(sessions)
    return write_lock(engine) if engine is not None else contextlib.nullcontext()
