"""Start the real service as a separate process on loopback for benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("NUDGE_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def postgres_database(admin_dsn: str = PG_ADMIN, prefix: str = "nudge_bench") -> Iterator[str]:
    """A throw-away PostgreSQL database made through `admin_dsn`; yields its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite+aiosqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def running_service(
    database_url: str,
    api_key: str,
    extra_env: dict[str, str] | None = None,
    serve: Sequence[str] = ("-m", "bot.cli", "run"),
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`nudge run` (or another `serve` command taking --port) in sandbox mode without Rasa;
    yields (base URL, process) once /health answers."""
    port = free_port()
    env = (
        os.environ
        | {
            "NUDGE_DATABASE_URL": database_url,
            "NUDGE_API_KEY": api_key,
            "NUDGE_SANDBOX": "1",
            "NUDGE_NLU_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: no Rasa
            "NUDGE_LOG_LEVEL": "WARNING",
            "NUDGE_HOLDOUT": "0",  # every chain messaged: the counts below assume it
        }
        | (extra_env or {})
    )
    process = subprocess.Popen(
        [sys.executable, *serve, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("service did not become healthy in 60 s")
    try:
        yield url, process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the service has not stopped within 20 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
