"""`nudge run` as a real process: it starts, supervises Rasa, reports health, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from nlu.supervisor import latest_model, rasa_executable
from tests.conftest import IN_CI
from tests.live_server import free_port


def _start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full_env = (
        os.environ
        | {
            "NUDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nudge.db'}",
            "NUDGE_SANDBOX": "1",
            "NUDGE_LOG_LEVEL": "INFO",
        }
        | env
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_health(
    url: str, process: subprocess.Popen[bytes], want_nlu: str, timeout: float
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            body = httpx.get(f"{url}/health", timeout=2).json()
            components = body["components"]
            assert isinstance(components, dict)
            if components.get("nlu") == want_nlu:
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"health never showed nlu={want_nlu}: {body}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


def test_runs_without_nlu_and_says_degraded(tmp_path: Path) -> None:
    dead = free_port()
    process, url = _start(tmp_path, NUDGE_NLU_URL=f"http://127.0.0.1:{dead}")
    try:
        body = _wait_health(url, process, "degraded", 60)
        assert body["status"] == "degraded"
        assert body["components"] == body["components"] | {"db": "ok", "scheduler": "ok"}
    finally:
        assert _stop(process) == 0


@pytest.mark.rasa
def test_starts_supervises_and_stops_rasa(tmp_path: Path) -> None:
    if not rasa_executable(PROJECT_ROOT).exists() or latest_model(PROJECT_ROOT / "models") is None:
        if IN_CI:
            pytest.fail("Rasa venv or trained model missing: `make train` must run before tests")
        pytest.skip("no .venv-rasa or no trained model (run `make train`)")
    rasa_port = free_port()
    process, url = _start(tmp_path, NUDGE_NLU_PORT=str(rasa_port), NUDGE_NLU_URL="")
    try:
        _wait_health(url, process, "ok", 240)
        assert _port_open(rasa_port)
    finally:
        code = _stop(process)
    assert code == 0
    deadline = time.monotonic() + 20
    while _port_open(rasa_port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _port_open(rasa_port), "the Rasa server outlived the service"
