"""Rows that several service instances take from one database: the claim that gives each row
to one claimer, and the clock their heartbeats are judged by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Update, func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import is_postgresql


def claim_update(
    engine: AsyncEngine | None, table: Table, due: Select[Any], *guard: ColumnElement[bool]
) -> Update:
    """UPDATE of the rows of `table` whose ids `due` selects (with its ORDER BY and LIMIT),
    each taken by one claimer. PostgreSQL: the rows locked FOR UPDATE SKIP LOCKED in a CTE;
    SQLite has one writer, and `guard` keeps rows another claim changed out of it."""
    claim = update(table)
    if engine is not None and is_postgresql(engine):
        # A locking CTE is evaluated once; `IN (subquery LIMIT n)` may be re-run by the
        # planner and then claim more than n rows.
        locked = due.with_for_update(skip_locked=True).cte("due")
        return claim.where(table.c.id == locked.c.id)
    return claim.where(table.c.id.in_(due.scalar_subquery()), *guard)


def moment_ago(engine: AsyncEngine | None, age: timedelta) -> Any:
    """The moment `age` ago by the clock every instance reads: the database's on PostgreSQL
    (one clock for every host), this host's on SQLite (one host)."""
    if engine is not None and is_postgresql(engine):
        return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, age.total_seconds())
    return datetime.now(UTC) - age
