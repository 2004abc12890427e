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
from tests.factory import checkout_updated


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


def _nudge(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "keys", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"NUDGE_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


async def test_keys_list_and_revoke_through_the_cli_take_effect_at_once(
    client: TestClient[Any, Any], db_url: str
) -> None:
    kept = (await asyncio.to_thread(_nudge, db_url, "add", "--name", "shop-a")).stdout.strip()
    doomed = (await asyncio.to_thread(_nudge, db_url, "add", "--name", "shop-b")).stdout.strip()
    headers = {"Authorization": f"Bearer {doomed}"}
    # the running service has accepted the key (and had every chance to cache it)
    first = await client.post("/api/v1/events", json=checkout_updated(), headers=headers)
    assert first.status == 202
    listed = (await asyncio.to_thread(_nudge, db_url, "list")).stdout
    lines = [line.split() for line in listed.splitlines()[1:]]
    assert [(cells[0], cells[-1]) for cells in lines] == [("shop-a", "-"), ("shop-b", "-")]
    assert kept not in listed and doomed not in listed
    async with client.app[SESSIONS]() as session:
        hashes = (await session.scalars(select(ApiKey.key_hash))).all()
    assert not any(h in listed for h in hashes)

    revoked = await asyncio.to_thread(_nudge, db_url, "revoke", "shop-b")
    assert "revoked 1 key" in revoked.stdout
    refused = await client.post("/api/v1/events", json=checkout_updated("c2"), headers=headers)
    assert refused.status == 401
    still = await client.post(
        "/api/v1/events",
        json=checkout_updated("c3"),
        headers={"Authorization": f"Bearer {kept}"},
    )
    assert still.status == 202
    listed = (await asyncio.to_thread(_nudge, db_url, "list")).stdout
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[1:]}
    assert rows["shop-a"][-1] == "-" and rows["shop-b"][-1] != "-"
    again = await asyncio.to_thread(_nudge, db_url, "revoke", "shop-b", check=False)
    assert again.returncode == 1 and "no active API key named 'shop-b'" in again.stderr
