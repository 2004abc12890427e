"""Primary keys taken before the INSERT, so that values derived from them go in with the row."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.dialect import is_postgresql


@functools.cache
def _next_ids(table: Table) -> Select[Any]:
    """PostgreSQL: `:count` values of the table's id sequence (built once per table)."""
    return select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
        func.generate_series(1, bindparam("count", type_=Integer))
    )


@functools.cache
def _last_id(table: Table) -> Select[Any]:
    return select(func.coalesce(func.max(table.c.id), 0))


async def take_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` ids for new rows of `table`. On SQLite the caller must already hold the write
    lock in this transaction (a write before this one): then no other transaction can take
    these ids before its INSERT (it would fail, not duplicate)."""
    if is_postgresql(session):
        return [int(i) for i in await session.scalars(_next_ids(table), {"count": count})]
    last = await session.scalar(_last_id(table))
    return list(range(int(last or 0) + 1, int(last or 0) + 1 + count))
