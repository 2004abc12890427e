"""`make bench-webhooks`: WhatsApp webhook acknowledgement under 1,000 requests/s offered.

The service (`nudge run`, sandbox, SQLite) and a bare aiohttp handler that only returns 200
each run as their own process; this process is the open-loop load generator on loopback,
posting signed, distinct WhatsApp message webhooks. Bounded: SECONDS per target.

python -m bench.webhooks  (BENCH_RATE=1000 BENCH_SECONDS=10 BENCH_DB=sqlite|postgres)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.service import ROOT, free_port, postgres_database, running_service, sqlite_database
from bot.channels.whatsapp import sign

RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
DB = os.environ.get("BENCH_DB", "sqlite")
SECRET = "bench-app-secret"
TARGET_SHARE, TARGET_P99_MS = 0.5, 20.0
PATH = "/webhooks/whatsapp"

BARE = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="ok")
app = web.Application()
app.router.add_post("/webhooks/whatsapp", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def payloads(count: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for n in range(count):
        phone = f"7916{n % 10_000_000:07d}"
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Anna"}, "wa_id": phone}],
            "messages": [
                {
                    "from": phone,
                    "id": f"wamid.{run}.{n}",
                    "timestamp": "1772442000",
                    "type": "text",
                    "text": {"body": "Когда доставка?"},
                }
            ],
        }
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)}
        out.append((body, headers))
    return out


class Connection:
    """One keep-alive HTTP/1.1 connection speaking pre-built requests: a cheap client, so the
    generator is not what limits the numbers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at >= 0:
            length = int(lower[at + 15 : lower.find(b"\r\n", at)])
            if length:
                await self.reader.readexactly(length)
        return status


def raw_requests(port: int, path: str, prepared: list[tuple[bytes, dict[str, str]]]) -> list[bytes]:
    out = []
    for body, headers in prepared:
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return out


async def offer(port: int, path: str, rate: int, seconds: float) -> dict[str, Any]:
    """Open loop: request i starts at t0 + i/rate whatever the earlier ones are doing."""
    total = int(rate * seconds)
    prepared = payloads(total, f"{os.getpid()}-{time.monotonic_ns()}")
    requests = raw_requests(port, path, prepared)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    idle: list[Connection] = []

    async def one(raw: bytes) -> None:
        try:
            if idle:
                connection = idle.pop()
            else:
                connection = Connection(*await asyncio.open_connection("127.0.0.1", port))
            began = time.perf_counter()
            status = await asyncio.wait_for(connection.request(raw), 10)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            statuses[0] = statuses.get(0, 0) + 1
            return
        latencies.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
        idle.append(connection)

    tasks = []
    t0 = time.perf_counter()
    for i, raw in enumerate(requests):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    for connection in idle:
        connection.writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    ok = statuses.get(200, 0)
    return {
        "offered": total,
        "ok": ok,
        "errors": total - ok,
        "throughput": ok / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else 0,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to compare cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, port: int) -> dict[str, Any]:
    before = cpu_seconds(pid)
    result = asyncio.run(offer(port, PATH, RATE, SECONDS))
    result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(1, result["ok"])
    return result


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("bare server exited")
        try:
            httpx.post(url, content=b"{}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("bare server did not start")


def main() -> None:
    results: dict[str, dict[str, Any]] = {}
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)], cwd=ROOT)
    try:
        wait_up(f"http://127.0.0.1:{port}{PATH}", bare)
        asyncio.run(offer(port, PATH, RATE, 1))  # warm-up
        results["bare aiohttp 200"] = measured(bare.pid, port)
    finally:
        bare.terminate()
        bare.wait(10)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        db = stack.enter_context(postgres_database() if DB == "postgres" else sqlite_database(tmp))
        env = {"NUDGE_WHATSAPP_APP_SECRET": SECRET, "NUDGE_SANDBOX_STATUS_CALLBACKS": "0"}
        base, process = stack.enter_context(running_service(db, "bench-key-0123456789", env))
        service_port = int(base.rsplit(":", 1)[1])
        asyncio.run(offer(service_port, PATH, RATE, 1))
        results[f"nudge {PATH} ({DB})"] = measured(process.pid, service_port)
    load = os.getloadavg()[0]
    print(f"\nmachine load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    print("cpu ms = server CPU per acknowledged request (user + system, all its threads)")
    print(f"\nWebhook acknowledgement, {RATE} req/s offered for {SECONDS:.0f} s, loopback")
    columns = ("ok", "err", "req/s", "p50 ms", "p99 ms", "max ms", "cpu ms")
    print(f"{'target':<36} " + " ".join(f"{c:>7}" for c in columns))
    for name, r in results.items():
        print(
            f"{name:<36} {r['ok']:>7} {r['errors']:>5} {r['throughput']:>8.0f} "
            f"{r['p50']:>7.2f} {r['p99']:>7.2f} {r['max']:>7.1f} {r['cpu_ms']:>7.2f}"
        )
    bare_r, ours = list(results.values())
    share = ours["throughput"] / bare_r["throughput"] if bare_r["throughput"] else 0
    verdict = share >= TARGET_SHARE and ours["p99"] <= TARGET_P99_MS
    print(
        f"share of bare throughput {share:.0%} (target ≥ {TARGET_SHARE:.0%}); "
        f"p99 {ours['p99']:.1f} ms (target ≤ {TARGET_P99_MS:.0f} ms): "
        + ("MET" if verdict else "MISSED")
    )


if __name__ == "__main__":
    main()
