"""Apply Alembic migrations to head; used on start and by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config

from bot.store.db import SessionFactory, make_engine, make_session_factory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade_to_head(url: str) -> None:
    """Blocking: run every pending migration (call from a thread inside an event loop)."""
    command.upgrade(alembic_config(url), "head")


async def upgrade_to_head_async(url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, url)


def run_on_store(url: str, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    """For a command line: bring the schema to head, run `work` with sessions, close the pool."""
    upgrade_to_head(url)

    async def run() -> T:
        engine = make_engine(url)
        try:
            return await work(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())
