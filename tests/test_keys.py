"""Shop API keys made with `nudge keys add` are stored hashed and accepted by the API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app_keys import SESSIONS
from bot.settings import PROJECT_ROOT
from bot.store.models import ApiKey
from tests.events_factory import checkout_updated


async def test_cli_key_is_hashed_and_works(client: TestClient[Any, Any], db_url: str) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "keys", "add", "--name", "shop-a"],
        cwd=PROJECT_ROOT,
        env=os.environ | {"NUDGE_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    key = result.stdout.strip()
    assert key.startswith("nk_") and len(key) > 30
    async with client.app[SESSIONS]() as session:
        stored = (await session.execute(select(ApiKey))).scalar_one()
    assert key not in stored.key_hash and stored.name == "shop-a"
    response = await client.post(
        "/api/v1/events", json=checkout_updated(), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 202
    wrong = await client.post(
        "/api/v1/events", json=checkout_updated(), headers={"Authorization": f"Bearer {key}x"}
    )
    assert wrong.status == 401
