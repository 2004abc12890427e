"""`make bench-touches`: 100,000 abandoned checkouts on PostgreSQL.

Measures planning throughput (events API → planner, over loopback HTTP); lateness of
firing (send time − due time) while the first touches fall due at BENCH_TOUCH_RATE per
second on a flowing clock, with the service's own scheduler; then firing throughput on a
backlog: the clock jumps to when every second touch is due, and the time until the last of
them reaches the sandbox channel (an in-process recording client) is measured; and the
peak RSS of the process running the service. Bounded: BENCH_TOUCHES (default 100000),
BENCH_MAX_SECONDS (900).
While firing it also counts the work done (CPU time of this process, SQL statements and
commits), which is steadier than wall clock on a shared machine; BENCH_PROFILE=FILE writes
a cProfile of the firing phase. Autovacuum is off on these machines, so the bench does its
work: VACUUM ANALYZE of the tables planning filled before firing, and of those firing
writes once a minute while it fires (BENCH_AUTOVACUUM=0 leaves both out).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import resource
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy import event

from bench.service import cpu_seconds, free_port, postgres_database
from bot.app import create_app
from bot.app_keys import ENGINE, OUTBOUND
from bot.channels.base import OutboundMessage, SendResult
from bot.clock import SandboxClock
from bot.settings import load_settings

N = int(os.environ.get("BENCH_TOUCHES", "100000"))
RATE = float(os.environ.get("BENCH_TOUCH_RATE", "1000"))  # due touches per second
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "900"))
PROFILE = os.environ.get("BENCH_PROFILE", "")
KEY = "bench-key-0123456789"
BASE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 10:00 UTC: daytime for zone UTC


class FlowingClock(SandboxClock):
    """Frozen while planning; then runs at wall-clock speed from a chosen moment."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._since: float | None = None

    def flow(self) -> None:
        self._since = time.monotonic()

    def jump(self, to: datetime) -> None:
        """Move to `to` and keep flowing from there."""
        self._now, self._since = to, time.monotonic()

    def now(self) -> datetime:
        if self._since is None:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._since)


class SqlCounter:
    """Statements and commits sent to the database while counting is on."""

    def __init__(self) -> None:
        self.on = False
        self.statements = 0
        self.commits = 0

    def statement(self, *_: Any) -> None:
        self.statements += self.on

    def commit(self, *_: Any) -> None:
        self.commits += self.on


async def backend_cpu(engine: Any) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving this database (same host:
    /proc), so the database's share of the work is counted too."""
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        pids = [int(pid) for (pid,) in result]
    used: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):  # a backend that ended
            used[pid] = cpu_seconds(pid)
    return used


# What planning filled (conversations stays empty: statistics of an empty table are left).
PLANNED_TABLES = ("contacts", "consents", "checkouts", "chains", "touches", "events", "audit_log")
# What firing writes to.
FIRED_TABLES = ("touches", "messages", "chains", "audit_log", "report_stale_contacts")
AUTOVACUUM_NAPTIME = 60.0  # seconds: PostgreSQL's default autovacuum_naptime
# BENCH_AUTOVACUUM=0: no VACUUM ANALYZE at all, as on a database with autovacuum off
AUTOVACUUM = os.environ.get("BENCH_AUTOVACUUM", "1") != "0"


async def _vacuum(engine: Any, tables: tuple[str, ...]) -> None:
    """VACUUM ANALYZE, outside a transaction (inside one, ANALYZE's statistics would be
    rolled back with it, and VACUUM refuses to run)."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")


async def _autovacuum(engine: Any) -> None:
    """What autovacuum does for a running service (it is off on these test machines): the
    tables firing writes to vacuumed and analyzed once per naptime. Without it, plans made
    on statistics from before firing doubled `touches` scan the table for a key lookup."""
    while True:
        await asyncio.sleep(AUTOVACUUM_NAPTIME)
        await _vacuum(engine, FIRED_TABLES)


class Sink:
    """The sandbox channel: records each send with the clock time it happened."""

    def __init__(self, name: Any, clock: FlowingClock) -> None:
        self.name = name
        self.clock = clock
        self.at: list[datetime] = []
        self.expected = 0
        self.sent = 0
        self.all_sent = asyncio.Event()

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        self.at.append(self.clock.now())
        if len(self.at) >= self.expected:
            self.all_sent.set()
        self.sent += 1  # over all phases: provider ids are unique
        return SendResult("sent", provider_message_id=f"{self.name}-{self.sent}")

    def expect(self, count: int) -> None:
        """Start recording a new phase that ends after `count` sends."""
        self.at, self.expected = [], count
        self.all_sent.clear()


async def _backlog(
    app: web.Application, clock: FlowingClock, sink: Sink, deadline: float
) -> dict[str, float]:
    """Every planned touch due at once: how fast the service clears the backlog."""
    async with app[ENGINE].connect() as connection:
        # The last chunks sent may not have planned their next touches yet: wait for them.
        while time.perf_counter() < deadline:
            result = await connection.exec_driver_sql(
                "SELECT count(*) FROM touches WHERE status IN ('claimed', 'sending')"
            )
            if not result.scalar():
                break
            await connection.rollback()  # a fresh snapshot for the next look
            await asyncio.sleep(0.05)
        result = await connection.exec_driver_sql(
            "SELECT count(*), max(due_at) FROM touches WHERE status = 'planned'"
        )
        count, last_due = result.one()
    if not count:
        return {"backlog": 0, "backlog_per_s": 0.0, "backlog_s": 0.0}
    sink.expect(int(count))
    started = time.perf_counter()
    clock.jump(last_due + timedelta(seconds=1))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(sink.all_sent.wait(), max(1.0, deadline - time.perf_counter()))
    seconds = time.perf_counter() - started
    return {"backlog": len(sink.at), "backlog_per_s": len(sink.at) / seconds, "backlog_s": seconds}


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
        holdout_enabled=False,  # every checkout gets its touches: the figures count them
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
    sql = SqlCounter()
    engine = app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", sql.statement)
    event.listen(engine, "commit", sql.commit)
    profile = cProfile.Profile() if PROFILE else None
    upkeep: asyncio.Task[None] | None = None
    deadline = time.perf_counter() + MAX_SECONDS
    try:
        consents, _ = await _post_all(base, "consent", deadline)
        planned, plan_seconds = await _post_all(base, "checkout", deadline)
        if AUTOVACUUM:
            await _vacuum(app[ENGINE], PLANNED_TABLES)
            upkeep = asyncio.create_task(_autovacuum(app[ENGINE]))
        sql.on = True
        if profile is not None:
            profile.enable()
        cpu_start = os.times()
        db_start = await backend_cpu(app[ENGINE])
        clock.flow()
        fire_start = time.perf_counter()
        sink.expect(planned)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.all_sent.wait(), max(1.0, deadline - time.perf_counter()))
        fire_seconds = time.perf_counter() - fire_start
        cpu_end = os.times()
        fire_cpu = cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system
        fire_sys = cpu_end.system - cpu_start.system
        db_end = await backend_cpu(app[ENGINE])
        db_cpu = sum(used - db_start.get(pid, 0.0) for pid, used in db_end.items())
        sql.on = False
        if profile is not None:
            profile.disable()
            profile.dump_stats(PROFILE)
        first_sent = sorted(sink.at)
        backlog = await _backlog(app, clock, sink, deadline)
    finally:
        if upkeep is not None:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)
        await runner.cleanup()
    step = 1.0 / RATE
    first_due = BASE + timedelta(seconds=60)
    lateness = sorted(
        (at - (first_due + timedelta(seconds=i * step))).total_seconds()
        for i, at in enumerate(first_sent)
    )
    sent = len(first_sent)
    busy = (first_sent[-1] - first_due).total_seconds() if first_sent else 0.0
    return backlog | {
        "checkouts": planned,
        "consents": consents,
        "plan_per_s": planned / plan_seconds if plan_seconds else 0.0,
        "sent": sent,
        "fire_per_s": sent / busy if busy > 0 else 0.0,
        "fire_wall_s": fire_seconds,
        "late_p50": statistics.median(lateness) if lateness else 0.0,
        "late_p99": lateness[int(0.99 * (len(lateness) - 1))] if lateness else 0.0,
        "late_max": lateness[-1] if lateness else 0.0,
        "cpu_ms_per_1000": 1000 * 1000 * fire_cpu / sent if sent else 0.0,
        "sys_ms_per_1000": 1000 * 1000 * fire_sys / sent if sent else 0.0,
        "db_cpu_ms_per_1000": 1000 * 1000 * db_cpu / sent if sent else 0.0,
        "sql_per_1000": 1000 * sql.statements / sent if sent else 0.0,
        "commits_per_1000": 1000 * sql.commits / sent if sent else 0.0,
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
    print(f"| first touches fired into the sandbox channel | {result['sent']:.0f} |")
    print(
        f"| first touches: sent / span from first due to last sent (≤ {RATE:.0f}/s offered) | "
        f"{result['fire_per_s']:.0f} touches/s |"
    )
    late = f"{result['late_p50']:.2f} / {result['late_p99']:.2f} / {result['late_max']:.2f}"
    print(f"| first touches: firing lateness p50 / p99 / max | {late} s |")
    print(
        f"| firing throughput on a backlog: {result['backlog']:.0f} second touches due at once"
        f" | {result['backlog_per_s']:.0f} touches/s ({result['backlog_s']:.1f} s) |"
    )
    print(
        "| while firing the first touches, per 1,000 touches: CPU of this process"
        " (of it in the kernel) / of its PostgreSQL backends"
        f" / SQL statements / commits | {result['cpu_ms_per_1000']:.0f} ms"
        f" ({result['sys_ms_per_1000']:.0f} ms) / "
        f"{result['db_cpu_ms_per_1000']:.0f} ms / {result['sql_per_1000']:.0f} / "
        f"{result['commits_per_1000']:.0f} |"
    )
    print(f"| peak RSS of the service process | {result['rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
