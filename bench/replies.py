"""`make bench-replies`: from an inbound WhatsApp webhook to the reply leaving for the provider.

The service runs in this process on a loopback port (SQLite, sandbox fakes); each shopper
message is a signed Cloud API webhook over HTTP. The clock stops when the WhatsApp client
hands the reply to the fake provider. Two cases: a quick-reply digit (rules only) and free
text through the Rasa NLU (started here unless NUDGE_NLU_URL points at one). Bounded:
BENCH_SAMPLES per case (default 200) and a 180 s wait for Rasa.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.app import create_app
from bot.app_keys import OUTBOUND, SERVICE_URL
from bot.channels.base import OutboundMessage, SendResult
from bot.channels.fakes.whatsapp import shopper_writes, webhook_body
from bot.channels.whatsapp import sign
from bot.clock import SandboxClock
from bot.settings import load_settings
from bot.store.migrate import upgrade_to_head_async
from nlu.supervisor import RasaSupervisor, latest_model

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
PORT, NLU_PORT = 8402, 8403  # this engineer's manual range; loopback only
KEY = "bench-replies-key-0123456789"
FREE_TEXTS = [
    "сколько стоит доставка курьером?",
    "можно оплатить частями?",
    "есть промокод на скидку?",
    "how much is shipping to my city",
    "czy mogę zapłacić blikiem",
    "运费多少钱",
]


class Stopwatch:
    """Wraps the WhatsApp client: records when a reply for a number leaves for the provider."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.name = client.name
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        future = self.waiting.pop(to.lstrip("+"), None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        result: SendResult = await self.client.send(to, message)
        return result


def _webhook(wa_id: str, text: str) -> bytes:
    value = shopper_writes(wa_id, f"wamid.bench-{secrets.token_hex(8)}", text)
    return json.dumps(webhook_body(value, "100000000000001"), ensure_ascii=False).encode()


def _events(count: int) -> list[dict[str, Any]]:
    now = "2026-03-02T09:00:00+00:00"
    out: list[dict[str, Any]] = []
    for i in range(count):
        contact = {"id": f"b{i}", "phone": f"+7999{i:07d}", "name": "Anna", "language": "ru"}
        out.append(
            {
                "id": f"bc-{i}",
                "type": "consent.granted",
                "occurred_at": now,
                "contact": contact,
                "channel": "whatsapp",
                "source": "bench",
            }
        )
        out.append(
            {
                "id": f"bk-{i}",
                "type": "checkout.updated",
                "occurred_at": now,
                "contact": {"id": f"b{i}"},
                "checkout": {
                    "id": f"k{i}",
                    "stage": "payment",
                    "items": [{"name": "Run 2", "quantity": 1, "price": "6860.00"}],
                    "total": "6860.00",
                    "currency": "RUB",
                    "resume_url": f"https://shop.example/c/{i}",
                },
            }
        )
    return out


async def _one(
    http: httpx.AsyncClient, watch: Stopwatch, secret: str, wa_id: str, text: str
) -> float:
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    watch.waiting[wa_id] = future
    raw = _webhook(wa_id, text)
    started = time.perf_counter()
    response = await http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)},
    )
    response.raise_for_status()
    return (await asyncio.wait_for(future, 30)) - started


def _row(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{name:<32} {len(ms):>5} {statistics.median(ms):>9.1f} {p99:>9.1f} {ms[-1]:>9.1f}"


async def main() -> None:
    base_settings = load_settings()
    supervisor: RasaSupervisor | None = None
    nlu_url = base_settings.nlu_url
    if not nlu_url:
        if latest_model(base_settings.models_dir) is None:
            raise SystemExit("no trained model in models/: run `make train` first")
        supervisor = RasaSupervisor(base_settings.root, NLU_PORT)
        print("starting Rasa (about 15 s)…", flush=True)
        await supervisor.start()
        await asyncio.wait_for(supervisor.ready.wait(), 180)
        nlu_url = supervisor.url
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_to_head_async(db)
        settings = replace(
            base_settings,
            database_url=db,
            api_key=KEY,
            sandbox=True,
            nlu_url=nlu_url,
            nlu_token=supervisor.token if supervisor else base_settings.nlu_token,
            sandbox_status_callbacks=False,
        )
        app = create_app(settings, clock=SandboxClock(), run_nlu=False, run_scheduler=False)
        base = f"http://127.0.0.1:{PORT}"
        app[SERVICE_URL] = base
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", PORT).start()
        try:
            watch = Stopwatch(app[OUTBOUND].clients["whatsapp"])
            app[OUTBOUND].clients["whatsapp"] = watch
            secret = settings.whatsapp_app_secret
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                events = _events(2 * SAMPLES)
                for start in range(0, len(events), 500):
                    answer = await http.post(
                        "/api/v1/events",
                        json={"events": events[start : start + 500]},
                        headers={"Authorization": f"Bearer {KEY}"},
                    )
                    answer.raise_for_status()
                digits, free = [], []
                for i in range(SAMPLES):
                    wa_id = f"7999{i:07d}"
                    # the bot first offers quick replies (1 Доставка, 2 Вопрос менеджеру)
                    await http.post(
                        "/sandbox/inbound",
                        json={"channel": "whatsapp", "from": f"+{wa_id}", "button": "payment_help"},
                    )
                    digits.append(await _one(http, watch, secret, wa_id, "1"))
                for i in range(SAMPLES, 2 * SAMPLES):
                    text = FREE_TEXTS[i % len(FREE_TEXTS)]
                    free.append(await _one(http, watch, secret, f"7999{i:07d}", text))
        finally:
            await runner.cleanup()
            if supervisor is not None:
                await supervisor.stop()
    print("\ninbound WhatsApp webhook → reply handed to the provider (loopback, SQLite)")
    print(f"{'case':<32} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    print(_row("quick-reply digit (rules)", digits))
    print(_row("free text (Rasa NLU)", free))


if __name__ == "__main__":
    asyncio.run(main())
