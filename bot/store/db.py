"""The database engine and session factory, built once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def sqlite_pragmas(busy_ms: int = 10_000) -> tuple[str, ...]:
    """Every SQLite connection's settings: WAL lets readers run beside the one writer;
    busy_timeout waits that long for the write lock instead of failing."""
    return (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={busy_ms}",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in sqlite_pragmas():
        cursor.execute(pragma)
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An async engine for SQLite (WAL) or PostgreSQL (asyncpg). Errors and logs never show
    statement parameters: they carry phone numbers and shoppers' text (R-PS2)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping (a round trip before every transaction): after a database restart the
    # first statement on each old connection fails, and SQLAlchemy then renews the pool.
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_recycle=3600, hide_parameters=True
    )


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
