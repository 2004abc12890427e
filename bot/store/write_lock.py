"""One in-process queue for our own SQLite writes."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import is_sqlite

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
