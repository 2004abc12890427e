"""`read_only` relies on SQLAlchemy internals: these checks fail when an upgrade changes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.fast_rows import read_only
from bot.store.models import Base, Chain, Checkout, Contact, Conversation

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _row(model: type[Base]) -> dict[str, Any]:
    """A different value for every column (nothing here reaches a database)."""
    return {column.key: f"value {n}" for n, column in enumerate(inspect(model).columns)}


@pytest.mark.parametrize("model", [Chain, Checkout, Contact, Conversation])
def test_read_only_instances_read_like_loaded_ones(model: type[Base]) -> None:
    row = _row(model)
    instance = read_only(model, row)
    assert type(instance) is model
    for key, value in row.items():
        assert getattr(instance, key) == value
    state = inspect(instance)
    assert state.transient and not state.modified  # in no session, nothing to write


def test_read_only_instances_take_changes_in_memory() -> None:
    chain = read_only(Chain, _row(Chain))
    set_committed_value(chain, "status", "stopped")
    assert chain.status == "stopped" and not inspect(chain).modified
    chain.anchor_at = T0
    assert chain.anchor_at == T0
