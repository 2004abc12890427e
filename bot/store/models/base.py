"""The declarative base and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def partial_index(name: str, *columns: str, where: str, **options: Any) -> Index:
    """An index over only the rows matching `where`, on PostgreSQL as on SQLite."""
    condition = sql_text(where)
    return Index(name, *columns, postgresql_where=condition, sqlite_where=condition, **options)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps go in as UTC and come out timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use clock.now() or an aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class IdRow(Base):
    """A table keyed by a 64-bit auto-increment `id`."""

    __abstract__ = True
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class ContactRow(IdRow):
    """A row about one contact: deleting the contact deletes it."""

    __abstract__ = True
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
