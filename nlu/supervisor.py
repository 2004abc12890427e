"""Runs the Rasa NLU server as a child process: start, readiness, restart on death, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import Mapping
from pathlib import Path

import httpx

log = logging.getLogger(__name__)


# The child's whole environment is built from these: what Python and Rasa need to run, none
# of the service's provider tokens, database URL or other secrets (R-PS7).
_PASSED_ENV = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ"})
# Reads the API token from stdin and hands it to Rasa's own argument parser inside the process,
# so /proc/<pid>/cmdline (readable by every local user) never shows it; `--auth-token=` keeps a
# token that starts with "-" from being read as an option.
_LAUNCHER = (
    "import sys\n"
    "token = sys.stdin.readline().strip()\n"
    "sys.argv = ['rasa', *sys.argv[1:], '--auth-token=' + token]\n"
    "from rasa.__main__ import main\n"
    "sys.exit(main())\n"
)


def rasa_executable(root: Path) -> Path:
    return root / ".venv-rasa" / "bin" / "rasa"


def rasa_python(root: Path) -> Path:
    return root / ".venv-rasa" / "bin" / "python"


def rasa_environment(parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """A Rasa child's environment: the locale, paths and home of `parent` (this process's by
    default), telemetry off (nothing leaves the machine), TensorFlow's chatter off."""
    source = os.environ if parent is None else parent
    env = {k: v for k, v in source.items() if k in _PASSED_ENV or k.startswith("LC_")}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    return env


def latest_model(models_dir: Path) -> Path | None:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


class RasaSupervisor:
    """Keeps one `rasa run --enable-api` alive on loopback, guarded by an auth token."""

    def __init__(
        self,
        root: Path,
        port: int,
        token: str | None = None,
        ready_timeout: float = 180.0,
        log_path: Path | None = None,
    ) -> None:
        self.root = root
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.ready_timeout = ready_timeout
        self.log_path = log_path or root / "var" / "rasa.log"
        self.url = f"http://127.0.0.1:{port}"
        self.ready = asyncio.Event()
        self.restarts = 0
        # set after each restart (tests and the health probe can wait for it)
        self.restarted = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The running Rasa process id (None when not running)."""
        if self._process is None or self._process.returncode is not None:
            return None
        return self._process.pid

    @property
    def status(self) -> str:
        if self.ready.is_set() and self._process and self._process.returncode is None:
            return "ok"
        return "degraded"

    def can_start(self) -> str | None:
        """None when Rasa can start, else the reason it cannot."""
        if not rasa_executable(self.root).exists():
            return f"{rasa_executable(self.root)} is missing: run `make run` or `make rasa-venv`"
        if latest_model(self.root / "models") is None:
            return "no trained model in models/: run `nudge train`"
        return None

    async def start(self) -> None:
        reason = self.can_start()
        if reason:
            log.warning("NLU server not started: %s", reason)
            return
        self._stopping = False
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="rasa-supervisor")

    async def _spawn(self) -> None:
        self.ready.clear()
        model = latest_model(self.root / "models")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = self.log_path.open("ab")
        command = [
            str(rasa_python(self.root)),
            "-c",
            _LAUNCHER,
            "run",
            "--enable-api",
            "--interface",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--model",
            str(model),
        ]
        log.info("starting NLU server on %s with %s", self.url, model.name if model else "?")
        self._process = process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=log_file,
            stderr=log_file,
            cwd=str(self.root),
            env=rasa_environment(),
            start_new_session=True,
        )
        assert process.stdin is not None
        process.stdin.write(self.token.encode() + b"\n")
        with contextlib.suppress(ConnectionError):  # it died at once: the watcher restarts it
            await process.stdin.drain()
        process.stdin.close()
        log_file.close()

    async def _wait_ready(self) -> bool:
        deadline = asyncio.get_running_loop().time() + self.ready_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self._process is None or self._process.returncode is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/status", params={"token": self.token})
                    if response.status_code == 200 and response.json().get("model_file"):
                        return True
                await asyncio.sleep(0.5)
        return False

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            if await self._wait_ready():
                self.ready.set()
                log.info("NLU server ready at %s", self.url)
                backoff = 1.0
                assert self._process is not None
                await self._process.wait()
            if self._stopping:
                return
            self.ready.clear()
            log.warning("NLU server is not running (see %s); restarting", self.log_path)
            await self._terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            self.restarts += 1
            await self._spawn()
            self.restarted.set()

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._terminate()
        self.ready.clear()
