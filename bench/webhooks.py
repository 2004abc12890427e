"""`make bench-webhooks`: webhook acknowledgement under 1,000 requests/s offered, per provider.

A bare aiohttp handler that only returns 200 (the ceiling on this machine) and the service
(`nudge run`, sandbox, a fresh database per provider) each run as their own process; this
process is the open-loop load generator on loopback (bench.loadgen.open_loop: raw keep-alive
HTTP/1.1, latency from each request's intended send time), posting signed, distinct inbound
messages for WhatsApp, Twilio and Telegram. Bounded: SECONDS per target.

python -m bench.webhooks   (BENCH_RATE=1000 BENCH_SECONDS=10 BENCH_DB=sqlite|postgres
                            BENCH_PROVIDERS=whatsapp,twilio,telegram)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.loadgen import open_loop, raw_post
from bench.service import (
    ROOT,
    cpu_seconds,
    free_port,
    postgres_database,
    running_service,
    sqlite_database,
)
from bot.channels.fakes.whatsapp import shopper_writes, webhook_body
from bot.channels.twilio_sms import compute_signature
from bot.channels.whatsapp import sign

RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
DB = os.environ.get("BENCH_DB", "sqlite")
PROVIDERS = os.environ.get("BENCH_PROVIDERS", "whatsapp,twilio,telegram").split(",")
TARGET_SHARE, TARGET_P99_MS = 0.5, 20.0

WA_SECRET = "bench-app-secret"
TWILIO_TOKEN = "bench-twilio-token"
TELEGRAM_SECRET = "bench-telegram-secret"
PUBLIC_URL = "https://bench.example"  # what Twilio signs; the service is told the same
SERVICE_ENV = {
    "NUDGE_WHATSAPP_APP_SECRET": WA_SECRET,
    "NUDGE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "NUDGE_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
    "NUDGE_PUBLIC_URL": PUBLIC_URL,
    "NUDGE_SANDBOX_STATUS_CALLBACKS": "0",
}

BARE = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="ok")
app = web.Application()
app.router.add_post("/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

Prepared = tuple[bytes, dict[str, str]]


def whatsapp(n: int, run: str) -> Prepared:
    phone = f"7916{n % 10_000_000:07d}"
    value = shopper_writes(phone, f"wamid.{run}.{n}", "Когда доставка?", at=1772442000)
    body = json.dumps(webhook_body(value, "1")).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, WA_SECRET)}


def twilio(n: int, run: str) -> Prepared:
    sid = f"SM{run}{n:012d}"[:34]
    form = {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": f"+7916{n % 10_000_000:07d}",
        "To": "+15005550006",
        "Body": "Когда доставка?",
        "NumSegments": "1",
        "SmsStatus": "received",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    signature = compute_signature(PUBLIC_URL + "/webhooks/twilio", form.items(), TWILIO_TOKEN)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return urlencode(form).encode(), headers


def telegram(n: int, run: str) -> Prepared:
    chat = 100_000_000 + n
    update = {
        "update_id": int(run) * 1_000_000 + n,
        "message": {
            "message_id": n + 1,
            "from": {"id": chat, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
            "chat": {"id": chat, "type": "private", "first_name": "Anna"},
            "date": 1772442000,
            "text": "Когда доставка?",
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    return json.dumps(update).encode(), headers


BUILDERS: dict[str, Callable[[int, str], Prepared]] = {
    "whatsapp": whatsapp,
    "twilio": twilio,
    "telegram": telegram,
}


def requests(provider: str, port: int, count: int) -> list[bytes]:
    """`count` distinct, correctly signed inbound messages as raw HTTP/1.1 requests."""
    run = str(time.monotonic_ns() % 1_000_000 + 1)  # distinct ids per call (Telegram: an int)
    build = BUILDERS[provider]
    return [raw_post(port, f"/webhooks/{provider}", *build(n, run)) for n in range(count)]


def settle(pid: int, limit: float = 20.0) -> None:
    """Wait until the server has finished the work it queued (under 5 % of a core for 0.5 s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return


def measured(provider: str, pid: int, port: int) -> dict[str, Any]:
    """Warm up for a second, then offer RATE for SECONDS; server CPU counted until it is quiet,
    so work done after the acknowledgement is included."""
    asyncio.run(open_loop(port, requests(provider, port, RATE), RATE))
    settle(pid)
    load = requests(provider, port, int(RATE * SECONDS))
    before = cpu_seconds(pid)
    result = asyncio.run(open_loop(port, load, RATE))
    settle(pid)
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


def bare_run() -> dict[str, Any]:
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)], cwd=ROOT)
    try:
        wait_up(f"http://127.0.0.1:{port}/webhooks/whatsapp", bare)
        return measured(PROVIDERS[0], bare.pid, port)
    finally:
        bare.terminate()
        bare.wait(10)


def service_run(provider: str) -> dict[str, Any]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        db = stack.enter_context(postgres_database() if DB == "postgres" else sqlite_database(tmp))
        service = running_service(db, "bench-key-0123456789", SERVICE_ENV)
        base, process = stack.enter_context(service)
        return measured(provider, process.pid, int(base.rsplit(":", 1)[1]))


def main() -> None:
    results: dict[str, dict[str, Any]] = {"bare aiohttp 200": bare_run()}
    for provider in PROVIDERS:
        results[f"nudge /webhooks/{provider} ({DB})"] = service_run(provider)
    load = os.getloadavg()[0]
    print(f"\nmachine load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    print(
        "latency from each request's intended send time (open loop); "
        "srv cpu = server CPU per acknowledged request incl. processing after the ack "
        "(all threads); gen cpu = load generator CPU per request"
    )
    print(f"\nWebhook acknowledgement, {RATE} req/s offered for {SECONDS:.0f} s, loopback")
    columns = ("ok", "err", "req/s", "p50 ms", "p99 ms", "max ms", "srv cpu", "gen cpu")
    print(f"{'target':<36} " + " ".join(f"{c:>7}" for c in columns))
    for name, r in results.items():
        print(
            f"{name:<36} {r['ok']:>7} {r['errors']:>7} {r['throughput']:>7.0f} "
            f"{r['p50']:>7.2f} {r['p99']:>7.2f} {r['max']:>7.1f} {r['cpu_ms']:>7.3f} "
            f"{r['client_cpu_ms']:>7.3f}"
        )
    bare_r = results["bare aiohttp 200"]
    if bare_r["p99"] > TARGET_P99_MS:
        print(
            f"note: the bare handler's own p99 is {bare_r['p99']:.0f} ms, above the "
            f"{TARGET_P99_MS:.0f} ms target: this machine is too busy for latency to be judged; "
            "compare the CPU columns (and rerun on a quiet machine)"
        )
    for name, ours in list(results.items())[1:]:
        share = ours["throughput"] / bare_r["throughput"] if bare_r["throughput"] else 0
        met = share >= TARGET_SHARE and ours["p99"] <= TARGET_P99_MS and not ours["errors"]
        print(
            f"{name}: {share:.0%} of bare throughput (target ≥ {TARGET_SHARE:.0%}); "
            f"p99 {ours['p99']:.1f} ms (target ≤ {TARGET_P99_MS:.0f} ms): "
            + ("MET" if met else "MISSED")
        )


if __name__ == "__main__":
    main()
