"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bench.service import postgres_database
from bot.app import create_app
from bot.clock import SandboxClock
from bot.settings import PROJECT_ROOT, Settings, load_settings
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.models import Base

pytest_plugins = ["tests.rasa_fixture", "tests.browser_fixtures", "tests.console_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("NUDGE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
API_KEY = "test-shop-key-0123456789"


def _pg_available() -> bool:
    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except Exception:
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated to head."""
    if not _pg_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_DSN}")
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    with postgres_database(PG_ADMIN_DSN, "nudge_test") as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A clean, migrated database URL: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "nudge.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate(url))
    return url


def make_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    base = load_settings(root=PROJECT_ROOT)
    # Every chain messaged unless a test turns the holdout on (tests/test_holdout.py).
    overrides.setdefault("holdout_enabled", False)
    return replace(
        base, database_url=db_url, api_key=API_KEY, sandbox=True, nlu_url="", **overrides
    )


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def clock() -> SandboxClock:
    from datetime import UTC, datetime

    return SandboxClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock
) -> AsyncIterator[TestClient[Any, Any]]:
    """The service in sandbox mode, without Rasa and without the background scheduler."""
    app: web.Application = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    yield await aiohttp_client(app)


AUTH = {"Authorization": f"Bearer {API_KEY}"}
