"""The supervised Rasa server: started, readiness-checked, restarted after a kill, stopped."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from nlu.evaluate import free_port
from nlu.supervisor import RasaSupervisor
from tests.rasa_fixture import IN_CI, model_for_tests

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def _require_rasa() -> None:
    reason = RasaSupervisor(PROJECT_ROOT, 1).can_start() if model_for_tests() else "no model"
    if reason:
        if IN_CI:
            pytest.fail(f"Rasa is required in CI: {reason}")
        pytest.skip(reason)


async def _parse(supervisor: RasaSupervisor, text: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{supervisor.url}/model/parse", params={"token": supervisor.token}, json={"text": text}
        )
        response.raise_for_status()
        name: str = response.json()["intent"]["name"]
        return name


async def test_killed_rasa_comes_back_and_stops_with_the_service(tmp_path: Path) -> None:
    _require_rasa()
    supervisor = RasaSupervisor(PROJECT_ROOT, free_port(), log_path=tmp_path / "rasa.log")
    await supervisor.start()
    try:
        await asyncio.wait_for(supervisor.ready.wait(), 240)
        assert supervisor.status == "ok"
        first_pid = supervisor.pid
        assert first_pid is not None
        async with httpx.AsyncClient() as client:  # the token guards the API
            denied = await client.post(f"{supervisor.url}/model/parse", json={"text": "hi"})
            assert denied.status_code == 401
        assert await _parse(supervisor, "сколько стоит доставка") == "delivery"

        os.killpg(first_pid, signal.SIGKILL)
        await asyncio.wait_for(supervisor.restarted.wait(), 120)  # the watcher noticed
        await asyncio.wait_for(supervisor.ready.wait(), 240)
        assert supervisor.restarts >= 1
        assert supervisor.pid not in (None, first_pid)
        assert await _parse(supervisor, "how much is shipping") == "delivery"
    finally:
        last_pid = supervisor.pid
        await supervisor.stop()
    assert supervisor.status == "degraded" and supervisor.pid is None
    assert last_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(last_pid, 0)
