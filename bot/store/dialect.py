"""Everything that differs between SQLite and PostgreSQL is asked here, nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    """The engine a session factory was built on, or None when it was given none."""
    bind = sessions.kw.get("bind")
    return bind if isinstance(bind, AsyncEngine) else None


def name_of(bind: AsyncEngine | AsyncSession) -> str:
    if isinstance(bind, AsyncSession):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def is_postgresql(bind: AsyncEngine | AsyncSession) -> bool:
    return name_of(bind) == POSTGRESQL


def is_sqlite(bind: AsyncEngine | AsyncSession) -> bool:
    return name_of(bind) == SQLITE


def sqlite_path(engine: AsyncEngine) -> str | None:
    """The database file of a SQLite engine; None for PostgreSQL and in-memory SQLite."""
    if not is_sqlite(engine):
        return None
    path = engine.url.database
    return path if path and path != ":memory:" else None


InsertFactory = Callable[[Table], Any]


def insert_for(bind: AsyncEngine | AsyncSession) -> InsertFactory:
    """The dialect's INSERT construct, which has ON CONFLICT DO NOTHING / DO UPDATE."""
    return postgresql.insert if is_postgresql(bind) else sqlite.insert
