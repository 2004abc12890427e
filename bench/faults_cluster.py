"""The parts `bench.faults` breaks: a private PostgreSQL cluster and `nudge run` processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench.service import ROOT, free_port

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
ZONES = (
    "Europe/Moscow",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "Asia/Dubai",
)


def daytime_zone(now: datetime, seconds: float) -> str:
    """A zone where it is daytime (10:00–19:00) from now for `seconds`: no quiet hours."""
    for name in ZONES:
        start = now.astimezone(ZoneInfo(name))
        end = (now + timedelta(seconds=seconds)).astimezone(ZoneInfo(name))
        if start.hour >= 10 and end.hour < 19 and start.date() == end.date():
            return name
    raise RuntimeError("no daytime zone in the list right now")


def _as_owner() -> list[str]:
    """PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir on a free loopback port, trust auth, socket in the dir."""

    def __init__(self, port: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="nudge-faults-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = port
        self.log = self.directory / "postgres.log"
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/nudge"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nudge"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [
                *_as_owner(),
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                *args,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        subprocess.run(
            [
                *_as_owner(),
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c max_connections=200"
        )
        self._ctl("-o", options, "start")
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "nudge",
            ],
            check=True,
        )
        self.options = options

    def restart(self) -> None:
        """A fast shutdown (open connections are cut) and start again."""
        self._ctl("-m", "fast", "-o", self.options, "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *_as_owner(),
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


class Instance:
    """One `nudge run` process; `url` is empty while it is down."""

    def __init__(self, name: str, env: dict[str, str], tmp: Path) -> None:
        self.name = name
        self.env = env
        self.log = tmp / f"instance-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 90) -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUDGE_")} | self.env
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance {self.name} exited: see {self.log}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code in (200, 503):
                    self.url = url
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"instance {self.name} did not answer /health in {timeout} s")

    def kill(self) -> None:
        self.url = ""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self.url = ""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
