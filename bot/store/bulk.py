"""Many rows in one statement.

PostgreSQL gets each column as one array through `unnest`: one execution, one parameter
set and one run of the statement-level triggers, where an executemany costs a statement
(executor start, row triggers) per row. SQLite keeps executemany: it runs in-process, so a
statement per row is already cheap.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, TextClause, any_, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import TypeDecorator, TypeEngine

from bot.store.dialect import is_postgresql

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_QUOTE = _PG.identifier_preparer.quote


def among(
    session: AsyncSession,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Iterable[Any],
) -> ColumnElement[bool]:
    """`column IN values`. PostgreSQL gets one array parameter (`= ANY`): the statement is
    the same whatever the count, where an IN list is compiled anew with a placeholder each.
    For primary keys: PostgreSQL may plan `= ANY($1)` once for all arrays (a generic plan),
    which is safe for a key lookup but, on stale statistics, not for a join."""
    if is_postgresql(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


_INDEX_PLANS = text("SET LOCAL enable_seqscan = off")


async def plan_as_key_lookups(session: AsyncSession) -> None:
    """PostgreSQL: plan the rest of this transaction as the key lookups its statements are.
    Statistics lag a burst of new rows (autovacuum analyzes a grown table a minute or more
    later, never when it is off), and plans made on them can scan a whole table for 256
    rows; this makes a scan the last resort, whatever the statistics say."""
    if is_postgresql(session):
        await session.execute(_INDEX_PLANS)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


@functools.lru_cache(maxsize=256)
def _column_plan(table: Table, name: str) -> tuple[str, str, Callable[[Any], Any] | None]:
    """(array type to cast to, SQL that reads the unnested value, per-value converter)."""
    column = table.c[name]
    kind: TypeEngine[Any] = column.type
    if isinstance(kind, TypeDecorator):
        decorator = kind

        def convert(value: Any) -> Any:
            return decorator.process_bind_param(value, _PG)

        return f"{kind.impl_instance.compile(dialect=_PG)}[]", f"v.{_QUOTE(name)}", convert
    if isinstance(kind, JSON):  # sent as text, cast back per value: asyncpg wants no json[]
        return "TEXT[]", f"CAST(v.{_QUOTE(name)} AS JSON)", _json
    return f"{kind.compile(dialect=_PG)}[]", f"v.{_QUOTE(name)}", None


def _unnest(table: Table, names: Sequence[str]) -> str:
    arrays = ", ".join(f"CAST(:a_{n} AS {_column_plan(table, n)[0]})" for n in names)
    return f"unnest({arrays}) AS v({', '.join(_QUOTE(n) for n in names)})"


def _scalar(table: Table, name: str, prefix: str = "s") -> str:
    """SQL reading the one value a column gets in every row (`:s_<name>`)."""
    array_type, read, _ = _column_plan(table, name)
    value = f"CAST(:{prefix}_{name} AS {array_type.removesuffix('[]')})"
    return f"CAST({value} AS JSON)" if read.startswith("CAST(") else value


def _params(
    table: Table,
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    same: Mapping[str, Any],
    prefix: str = "s",
) -> dict[str, Any]:
    """One array per column that varies by row, one value per column that does not."""
    params: dict[str, Any] = {}
    for name in names:
        convert = _column_plan(table, name)[2]
        values = [row[name] for row in rows]
        params[f"a_{name}"] = values if convert is None else [convert(v) for v in values]
    for name, value in same.items():
        convert = _column_plan(table, name)[2]
        params[f"{prefix}_{name}"] = value if convert is None else convert(value)
    return params


@functools.lru_cache(maxsize=128)
def _pg_update(
    table: Table, key: str, columns: tuple[str, ...], same: tuple[str, ...]
) -> TextClause:
    sets = [f"{_QUOTE(c)} = {_column_plan(table, c)[1]}" for c in columns]
    sets += [f"{_QUOTE(c)} = {_scalar(table, c)}" for c in same]
    name = _QUOTE(table.name)
    return text(
        f"UPDATE {name} SET {', '.join(sets)} FROM {_unnest(table, (key, *columns))} "
        f"WHERE {name}.{_QUOTE(key)} = v.{_QUOTE(key)}"
    )


@functools.lru_cache(maxsize=64)
def _pg_update_guarded(
    table: Table, key: str, columns: tuple[str, ...], same: tuple[str, ...], guard: tuple[str, ...]
) -> TextClause:
    """`_pg_update`, only where each `guard` column still has its `:g_<name>` value, returning
    the keys of the rows it changed."""
    name = _QUOTE(table.name)
    checks = "".join(f" AND {name}.{_QUOTE(c)} = {_scalar(table, c, 'g')}" for c in guard)
    plain = _pg_update(table, key, columns, same).text
    return text(f"{plain}{checks} RETURNING {name}.{_QUOTE(key)}")


@functools.lru_cache(maxsize=128)
def _pg_insert(table: Table, columns: tuple[str, ...], same: tuple[str, ...]) -> TextClause:
    values = [_column_plan(table, c)[1] for c in columns] + [_scalar(table, c) for c in same]
    return text(
        f"INSERT INTO {_QUOTE(table.name)} ({', '.join(_QUOTE(c) for c in (*columns, *same))}) "
        f"SELECT {', '.join(values)} FROM {_unnest(table, columns)}"
    )


@functools.lru_cache(maxsize=128)
def _by_key(table: Table, key: str, columns: tuple[str, ...]) -> Any:
    """UPDATE … SET columns WHERE key = …, for executemany with `b_`-prefixed keys."""
    return (
        update(table)
        .where(table.c[key] == bindparam(f"b_{key}"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )


async def update_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    key: str = "id",
    same: Mapping[str, Any] | None = None,
) -> None:
    """Set `columns` of each row found by `key` to that row's values, and the columns in
    `same` to the one value they get in every row, in one statement."""
    if not rows:
        return
    names, fixed = tuple(columns), dict(same or {})
    if is_postgresql(session):
        statement = _pg_update(table, key, names, tuple(fixed))
        await session.execute(statement, _params(table, (key, *names), rows, fixed))
        return
    constant = {f"b_{n}": v for n, v in fixed.items()}
    prefixed = [{f"b_{n}": row[n] for n in (key, *names)} | constant for row in rows]
    await session.execute(_by_key(table, key, (*names, *fixed)), prefixed)


async def update_rows_guarded(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    same: Mapping[str, Any],
    guard: Mapping[str, Any],
    key: str = "id",
) -> set[Any]:
    """`update_rows`, but only rows whose `guard` columns still hold the given values (a
    compare-and-set: rows someone else changed meanwhile are left alone); the keys of the rows
    it changed. Two statements on SQLite (the guarded one with `same`, then the per-row
    values of the rows it took), one on PostgreSQL."""
    if not rows:
        return set()
    names = tuple(columns)
    if is_postgresql(session):
        statement = _pg_update_guarded(table, key, names, tuple(same), tuple(guard))
        params = _params(table, (key, *names), rows, same) | _params(table, (), (), guard, "g")
        return set((await session.execute(statement, params)).scalars().all())
    checks = [table.c[c] == v for c, v in guard.items()]
    keys = [row[key] for row in rows]
    taken = await session.execute(
        update(table)
        .where(table.c[key].in_(keys), *checks)
        .values(dict(same))
        .returning(table.c[key])
    )
    changed = set(taken.scalars().all())
    if names and changed:
        taken_rows = [row for row in rows if row[key] in changed]
        prefixed = [{f"b_{n}": row[n] for n in (key, *names)} for row in taken_rows]
        await session.execute(_by_key(table, key, names), prefixed)
    return changed


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    same: Mapping[str, Any] | None = None,
) -> None:
    """INSERT the rows (all with the same keys), each also with the values in `same`, in one
    statement."""
    if not rows:
        return
    names, fixed = tuple(rows[0]), dict(same or {})
    if any(len(row) != len(names) for row in rows):
        raise ValueError(f"rows for {table.name} must all have the same columns: {names}")
    if is_postgresql(session):
        statement = _pg_insert(table, names, tuple(fixed))
        await session.execute(statement, _params(table, names, rows, fixed))
        return
    await session.execute(insert(table), [dict(row) | fixed for row in rows])
