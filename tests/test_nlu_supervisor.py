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


def _proc(pid: int, name: str) -> list[str]:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace").split("\0")


async def test_rasa_gets_no_secrets_no_token_on_its_command_line_and_no_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_rasa()
    secrets = {
        "NUDGE_WHATSAPP_TOKEN": "wa-page-token-0123456789",
        "NUDGE_TWILIO_AUTH_TOKEN": "twilio-auth-token-0123456789",
        "NUDGE_DATABASE_URL": "postgresql+asyncpg://nudge:db-password-0123@db/nudge",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RASA_TELEMETRY_ENABLED", raising=False)
    log_path = tmp_path / "rasa.log"
    # a token may start with "-" (secrets.token_urlsafe does, once in 64): Rasa must not read
    # it as an option
    token = "-starts-with-a-dash-0123456789"
    supervisor = RasaSupervisor(PROJECT_ROOT, free_port(), token=token, log_path=log_path)
    await supervisor.start()
    try:
        await asyncio.wait_for(supervisor.ready.wait(), 240)
        pid = supervisor.pid
        assert pid is not None
        cmdline = _proc(pid, "cmdline")
        environ = dict(e.split("=", 1) for e in _proc(pid, "environ") if "=" in e)
        assert await _parse(supervisor, "how much is shipping") == "delivery"  # token works
    finally:
        await supervisor.stop()
    assert "run" in cmdline and supervisor.token not in " ".join(cmdline)
    assert environ["RASA_TELEMETRY_ENABLED"] == "false"
    allowed = {"PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ", "RASA_TELEMETRY_ENABLED",
               "TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS"}  # fmt: skip
    assert {k for k in environ if not k.startswith("LC_")} <= allowed, sorted(environ)
    everything = " ".join(cmdline) + " ".join(environ.values())
    assert supervisor.token not in everything
    assert [v for v in secrets.values() if v in everything] == []
    output = log_path.read_text()
    assert "telemetry" not in output.lower(), output[-2000:]
