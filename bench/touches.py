"""`make bench-touches`: 100,000 abandoned checkouts on PostgreSQL.

Measures planning throughput (events API → planner, over loopback HTTP), firing
throughput into the sandbox channel (an in-process recording client), lateness of
firing (send time − due time, with due times spread at BENCH_TOUCH_RATE per second and
the service's own 1 s scheduler tick on a flowing clock) and the peak RSS of the process
running the service. Bounded: BENCH_TOUCHES (default 100000), BENCH_MAX_SECONDS (900).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiohttp import web

from bench.service import free_port, postgres_database
from bot.app import create_app
from bot.app_keys import OUTBOUND
from bot.channels.base import OutboundMessage, SendResult
from bot.clock import SandboxClock
from bot.settings import load_settings

N = int(os.environ.get("BENCH_TOUCHES", "100000"))
RATE = float(os.environ.get("BENCH_TOUCH_RATE", "1000"))  # due touches per second
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "900"))
KEY = "bench-key-0123456789"
BASE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 10:00 UTC: daytime for zone UTC


class FlowingClock(SandboxClock):
    """Frozen while planning; then runs at wall-clock speed from a chosen moment."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._since: float | None = None

    def flow(self) -> None:
        self._since = time.monotonic()

    def now(self) -> datetime:
        if self._since is None:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._since)


class Sink:
    """The sandbox channel: records each send with the clock time it happened."""

    def __init__(self, name: Any, clock: FlowingClock) -> None:
        self.name = name
        self.clock = clock
        self.at: list[datetime] = []
        self.expected = 0
        self.all_sent = asyncio.Event()

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        self.at.append(self.clock.now())
        if len(self.at) >= self.expected:
            self.all_sent.set()
        return SendResult("sent", provider_message_id=f"{self.name}-{len(self.at)}")


def _events(start: int, count: int, kind: str) -> list[dict[str, Any]]:
    events = []
    step = 1.0 / RATE
    for n in range(start, start + count):
        if kind == "consent":
            events.append(
                {
                    "id": f"g{n}",
                    "type": "consent.granted",
                    "occurred_at": (BASE - timedelta(hours=1)).isoformat(),
                    "contact": {"id": f"p{n}", "phone": f"+7916{n:07d}", "timezone": "UTC"},
                    "channel": "whatsapp",
                    "source": "checkout_checkbox",
                }
            )
        else:  # due 30 min after the last activity: spread at RATE per second after BASE+60 s
            occurred = BASE + timedelta(seconds=60 + n * step) - timedelta(minutes=30)
            events.append(
                {
                    "id": f"u{n}",
                    "type": "checkout.updated",
                    "occurred_at": occurred.isoformat(),
                    "contact": {"id": f"p{n}"},
                    "checkout": {
                        "id": f"k{n}",
                        "stage": "cart",
                        "total": "100.00",
                        "currency": "RUB",
                        "items": [{"name": "Book", "quantity": 1, "price": "100.00"}],
                        "resume_url": f"https://shop.example/k{n}",
                    },
                }
            )
    return events


async def _post_all(base: str, kind: str, deadline: float) -> tuple[int, float]:
    started = time.perf_counter()
    done = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(timeout=300) as client:
        queue = list(range(0, N, 1000))

        async def worker() -> None:
            nonlocal done
            while queue and time.perf_counter() < deadline:
                start = queue.pop(0)
                body = {"events": _events(start, min(1000, N - start), kind)}
                response = await client.post(f"{base}/api/v1/events", json=body, headers=headers)
                response.raise_for_status()
                done += len(body["events"])

        await asyncio.gather(*(worker() for _ in range(4)))
    return done, time.perf_counter() - started


async def run(url: str) -> dict[str, float]:
    settings = replace(
        load_settings(),
        database_url=url,
        api_key=KEY,
        sandbox=True,
        nlu_url=f"http://127.0.0.1:{free_port()}",
        scheduler_interval_seconds=0.2,
    )
    clock = FlowingClock(BASE)
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    sink = Sink("whatsapp", clock)
    app[OUTBOUND].clients["whatsapp"] = sink
    deadline = time.perf_counter() + MAX_SECONDS
    try:
        consents, _ = await _post_all(base, "consent", deadline)
        planned, plan_seconds = await _post_all(base, "checkout", deadline)
        clock.flow()
        fire_start = time.perf_counter()
        sink.expected = planned
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.all_sent.wait(), max(1.0, deadline - time.perf_counter()))
        fire_seconds = time.perf_counter() - fire_start
    finally:
        await runner.cleanup()
    step = 1.0 / RATE
    first_due = BASE + timedelta(seconds=60)
    lateness = sorted(
        (at - (first_due + timedelta(seconds=i * step))).total_seconds()
        for i, at in enumerate(sorted(sink.at))
    )
    sent = len(sink.at)
    busy = (max(sink.at) - first_due).total_seconds() if sink.at else 0.0
    return {
        "checkouts": planned,
        "consents": consents,
        "plan_per_s": planned / plan_seconds if plan_seconds else 0.0,
        "sent": sent,
        "fire_per_s": sent / busy if busy > 0 else 0.0,
        "fire_wall_s": fire_seconds,
        "late_p50": statistics.median(lateness) if lateness else 0.0,
        "late_p99": lateness[int(0.99 * (len(lateness) - 1))] if lateness else 0.0,
        "late_max": lateness[-1] if lateness else 0.0,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    with postgres_database() as url:
        result = asyncio.run(run(url))
    print(f"\ntouches bench on PostgreSQL: {N} abandoned checkouts, due at {RATE:.0f}/s")
    print("| metric | value |\n| --- | --- |")
    print(f"| checkouts planned | {result['checkouts']:.0f} (consents {result['consents']:.0f}) |")
    print(
        f"| planning throughput (events API + planner) | {result['plan_per_s']:.0f} checkouts/s |"
    )
    print(f"| touches fired into the sandbox channel | {result['sent']:.0f} |")
    print(
        "| firing throughput (sent / span from first due to last sent) | "
        f"{result['fire_per_s']:.0f} touches/s |"
    )
    late = f"{result['late_p50']:.2f} / {result['late_p99']:.2f} / {result['late_max']:.2f}"
    print(f"| firing lateness p50 / p99 / max | {late} s |")
    print(f"| peak RSS of the service process | {result['rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
