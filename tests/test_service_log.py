"""R-PS2: the service log shows what an operator needs, not the libraries' heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.app_keys import SCHEDULER
from bot.clock import SandboxClock
from bot.logmask import configure_logging
from bot.settings import PROJECT_ROOT, Settings
from tests.channels_fixtures import wait_for

HEARTBEAT = ("Running job", "executed successfully", "HTTP Request:")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ", re.M)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The service's logging configuration, writing to a file; the test runner's afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx")}
    path = tmp_path / "service.log"
    configure_logging("INFO", file=path)
    yield path
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.level = handlers, level
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


async def test_a_running_service_logs_no_heartbeat(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: SandboxClock, log_file: Path
) -> None:
    app: web.Application = create_app(
        replace(settings, scheduler_interval_seconds=0.05), clock=clock, run_nlu=False
    )
    client: TestClient[Any, Any] = await aiohttp_client(app)
    passes: list[datetime] = []

    async def count(now: datetime) -> None:
        passes.append(now)

    app[SCHEDULER].add_tick("count", count)
    async with httpx.AsyncClient() as http:
        for _ in range(3):
            assert (await http.get(str(client.make_url("/health")))).status_code == 200

    async def enough() -> bool:
        return len(passes) >= 20

    await wait_for(enough, "20 scheduler passes")
    logging.getLogger("bot.test").warning("a line an operator needs")
    text = await asyncio.to_thread(log_file.read_text)
    assert "WARNING bot.test: a line an operator needs" in text
    assert [line for line in text.splitlines() if any(h in line for h in HEARTBEAT)] == []


def test_the_shell_shows_the_conversation_and_logs_to_a_file(tmp_path: Path) -> None:
    log_path = tmp_path / "shell.log"
    env = os.environ | {
        "NUDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nudge.db'}",
        "NUDGE_SANDBOX": "1",
        "NUDGE_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    shell = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--no-nlu", "--log", str(log_path)],
        input="Привет\n/state\n/quit\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    terminal = shell.stdout + shell.stderr  # what the person at the terminal sees
    assert f"the service's log goes to {log_path}" in terminal
    assert "bot> " in terminal and "(intent: other, handled by: operator)" in terminal
    assert LOG_LINE.search(terminal) is None, terminal
    logged = log_path.read_text()
    assert "INFO bot.dialogue.handler: inbound sandbox-" in logged
    assert all(LOG_LINE.match(line) for line in logged.splitlines() if line[:1].isdigit())
