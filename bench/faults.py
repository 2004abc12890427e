"""`make bench-faults`: nothing lost, nothing sent twice, every STOP honoured, under faults.

Two `nudge run` processes share one PostgreSQL database of a PRIVATE cluster (initdb/pg_ctl
on a free loopback port in a temp dir; the shared server is never touched). Both send
through one fake WhatsApp Graph API run by this harness, which records every request it
receives (the ground truth) and answers BENCH_FAULT_500 (5 %) of sends with 500,
BENCH_FAULT_HANG (2 %) by accepting and answering only after the client's timeout, and
BENCH_FAULT_429 (1 %) with 429 + Retry-After.

BENCH_TOUCHES (5,000) contacts with WhatsApp consent abandon a checkout such that their
first touch falls due spread over BENCH_SPREAD seconds (180). The clock is the sandbox
clock of each instance, set to wall-clock time once a second (POST /sandbox/clock, which
also fires what is due): the events carry past `occurred_at` so that `abandon_after` ends
in the coming minutes, and a restarted instance starts at wall time anyway. Meanwhile
signed inbound webhooks stream to either instance (retried until acknowledged, as Meta
does), a share of them STOPs sent at least BENCH_STOP_LEAD seconds before the sender's
touch falls due. Faults: SIGKILL of a random instance at random moments (restarted after
1–3 s), one PostgreSQL restart, and the NLU is down throughout (NUDGE_NLU_URL points where
nothing listens: Rasa is too heavy for a 2-core shared machine next to two services; the
dialogue's NLU-down path routes free text to operators, a STOP is a rule).

Report: touches sent exactly once, `unknown` (and whether any was re-sent), lost, received
twice by the provider, STOPs honoured, inbound messages lost, and per fault the seconds
until every running instance answers /health with the database and scheduler ok.
Bounded by BENCH_MAX_SECONDS (600); loopback only; it stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.faults_cluster import Instance, PrivatePostgres, daytime_zone
from bench.service import free_port
from bot.channels.fakes.loopback import LoopbackServer, Poster
from bot.channels.fakes.whatsapp import FakeWhatsApp, FaultProfile, shopper_writes, webhook_body
from bot.channels.whatsapp import sign
from bot.settings import load_settings, sandbox_credentials

N = int(os.environ.get("BENCH_TOUCHES", "5000"))
SPREAD = float(os.environ.get("BENCH_SPREAD", "180"))
LEAD_IN = float(os.environ.get("BENCH_LEAD_IN", "60"))  # ingestion before the first due touch
INBOUND = int(os.environ.get("BENCH_INBOUND", "600"))
STOP_SHARE = float(os.environ.get("BENCH_STOP_SHARE", "0.3"))
STOP_LEAD = float(os.environ.get("BENCH_STOP_LEAD", "30"))
KILLS = int(os.environ.get("BENCH_KILLS", "4"))
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "600"))
SEED = int(os.environ.get("BENCH_SEED", "15"))
KEY = "bench-key-0123456789"
SECRET = "sandbox-app-secret"
SEND_TIMEOUT = 3


def phone(i: int) -> str:
    return f"7916{i:07d}"


@dataclass
class Inbound:
    wamid: str
    index: int
    stop: bool
    at: float  # when to post (seconds from the start)
    acked_at: float | None = None


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    wall0: float = field(default_factory=time.time)
    recoveries: list[tuple[str, float]] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started


async def ingest(client: httpx.AsyncClient, url: str, due: list[datetime], zone: str) -> None:
    """Consent and an abandoned cart per contact; `abandon_after` (30 min) ends at `due`."""
    for start in range(0, N, 250):
        events: list[dict[str, Any]] = []
        for i in range(start, min(N, start + 250)):
            person = {
                "id": f"f{i}",
                "phone": f"+{phone(i)}",
                "name": "Anna",
                "language": "ru",
                "timezone": zone,
            }
            at = due[i] - timedelta(minutes=30)
            events.append(
                {
                    "id": f"fc-{i}",
                    "type": "consent.granted",
                    "contact": person,
                    "occurred_at": (at - timedelta(seconds=1)).isoformat(),
                    "channel": "whatsapp",
                    "source": "checkout_checkbox",
                }
            )
            events.append(
                {
                    "id": f"fk-{i}",
                    "type": "checkout.updated",
                    "contact": person,
                    "occurred_at": at.isoformat(),
                    "checkout": {
                        "id": f"k{i}",
                        "stage": "cart",
                        "total": "1990.00",
                        "currency": "RUB",
                        "resume_url": f"https://shop.example/k{i}",
                        "items": [{"name": "Run 2", "quantity": 1, "price": "1990.00"}],
                    },
                }
            )
        response = await client.post(
            f"{url}/api/v1/events",
            json={"events": events},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
        )
        response.raise_for_status()


async def tick(instances: list[Instance], client: httpx.AsyncClient, until: float) -> None:
    """Each live instance's sandbox clock follows wall time, once a second."""

    async def one(instance: Instance) -> None:
        while time.monotonic() < until:
            if instance.url:
                stamp = datetime.now(UTC).isoformat()
                with contextlib.suppress(httpx.HTTPError):
                    await client.post(
                        f"{instance.url}/sandbox/clock", json={"set": stamp}, timeout=60
                    )
            await asyncio.sleep(1)

    await asyncio.gather(*(one(i) for i in instances))


async def stream_inbound(
    instances: list[Instance], client: httpx.AsyncClient, items: list[Inbound], run: Run
) -> None:
    """Post each message when due to a random live instance, retried until acknowledged."""

    async def deliver(item: Inbound) -> None:
        await asyncio.sleep(max(0.0, item.at - run.now()))
        text = "СТОП" if item.stop else "Когда доставка?"
        value = shopper_writes(phone(item.index), item.wamid, text)
        body = json.dumps(webhook_body(value, "1")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)}
        while item.acked_at is None:
            live = [i for i in instances if i.url]
            if live:
                target = random.choice(live)
                try:
                    response = await client.post(
                        f"{target.url}/webhooks/whatsapp", content=body, headers=headers, timeout=10
                    )
                    if response.status_code == 200:
                        item.acked_at = time.time()
                        return
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.5)

    await asyncio.gather(*(deliver(i) for i in items))


async def healthy(instances: list[Instance], client: httpx.AsyncClient) -> bool:
    for instance in instances:
        if not instance.url:
            return False
        try:
            response = await client.get(f"{instance.url}/health", timeout=3)
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return False
        components = body.get("components", {})
        if response.status_code != 200 or components.get("db") != "ok":
            return False
        if components.get("scheduler") != "ok":
            return False
    return True


async def time_to_healthy(
    name: str, instances: list[Instance], client: httpx.AsyncClient, run: Run, began: float
) -> None:
    while time.monotonic() - began < 120:
        if await healthy(instances, client):
            run.recoveries.append((name, time.monotonic() - began))
            print(
                f"{run.now():6.1f} s  {name}: healthy after {run.recoveries[-1][1]:.1f} s",
                flush=True,
            )
            return
        await asyncio.sleep(0.1)
    run.recoveries.append((name, float("inf")))


async def faults(
    instances: list[Instance], pg: PrivatePostgres, client: httpx.AsyncClient, run: Run
) -> None:
    """SIGKILLs at random moments inside the due window, one PostgreSQL restart mid-way."""
    rng = random.Random(SEED)
    window = (LEAD_IN, LEAD_IN + SPREAD)
    moments = sorted(rng.uniform(*window) for _ in range(KILLS))
    pg_at = (window[0] + window[1]) / 2
    plan = [(t, "kill") for t in moments] + [(pg_at, "postgres")]
    for at, kind in sorted(plan):
        await asyncio.sleep(max(0.0, at - run.now()))
        began = time.monotonic()
        if kind == "postgres":
            await asyncio.to_thread(pg.restart)
            await time_to_healthy("postgres restart", instances, client, run, began)
            continue
        victim = rng.choice(instances)
        victim.kill()
        await asyncio.sleep(rng.uniform(1, 3))
        await asyncio.to_thread(victim.start)
        await time_to_healthy(f"SIGKILL {victim.name}", instances, client, run, began)


async def settle(pg: PrivatePostgres, deadline: float) -> None:
    """Until no first touch is planned, claimed or sending any more (or the deadline)."""
    while time.monotonic() < deadline:
        connection = await asyncpg.connect(pg.dsn)
        try:
            open_ = await connection.fetchval(
                "SELECT count(*) FROM touches WHERE step = 'touch_1' "
                "AND status IN ('planned', 'claimed', 'sending')"
            )
            inbox = await connection.fetchval(
                "SELECT count(*) FROM inbound_webhooks WHERE processed_at IS NULL "
                "AND dead_at IS NULL"
            )
        finally:
            await connection.close()
        if not open_ and not inbox:
            return
        print(f"settling: {open_} first touches open, {inbox} webhooks unprocessed", flush=True)
        await asyncio.sleep(1)


async def report(pg: PrivatePostgres, fake: FakeWhatsApp, items: list[Inbound], run: Run) -> int:
    connection = await asyncpg.connect(pg.dsn)
    try:
        touches = await connection.fetch(
            "SELECT c.phone, t.status, t.due_at FROM touches t "
            "JOIN contacts c ON c.id = t.contact_id WHERE t.step = 'touch_1'"
        )
        stored = {
            r["provider_message_id"]
            for r in await connection.fetch(
                "SELECT provider_message_id FROM messages WHERE direction = 'in'"
            )
        }
        dead = await connection.fetchval(
            "SELECT count(*) FROM inbound_webhooks WHERE dead_at IS NOT NULL"
        )
    finally:
        await connection.close()
    accepted = Counter(
        r["to"] for r in fake.requests if r.get("accepted") and r["type"] == "template"
    )
    status = Counter(r["status"] for r in touches)
    by_phone = {r["phone"].lstrip("+"): r["status"] for r in touches}
    once = sum(1 for p, s in by_phone.items() if s == "sent" and accepted[p] == 1)
    twice = sum(1 for n in accepted.values() if n > 1)
    unknown_resent = sum(1 for p, s in by_phone.items() if s == "unknown" and accepted[p] > 1)
    lost = status["planned"] + status["claimed"] + status["sending"]
    lost += sum(1 for p, s in by_phone.items() if s == "sent" and accepted[p] == 0)
    stops = [i for i in items if i.stop and i.acked_at is not None]
    stop_phones = {phone(i.index): i.acked_at for i in stops}
    after_stop = [
        r
        for r in fake.requests
        if r.get("accepted")
        and r["type"] == "template"
        and r["to"] in stop_phones
        and r["at"] > (stop_phones[r["to"]] or 0)
    ]
    acked = [i for i in items if i.acked_at is not None]
    inbound_lost = [i.wamid for i in acked if i.wamid not in stored]
    # A reply is sent once per inbound message at most: more replies than messages = a repeat.
    replies = Counter(
        r["to"] for r in fake.requests if r.get("accepted") and r["type"] != "template"
    )
    written = Counter(phone(i.index) for i in acked)
    over_replied = [p for p, n in replies.items() if n > written[p]]
    faults_seen = Counter(r["fault"] or "ok" for r in fake.requests)
    print(f"touches: {N} contacts, first touches by status {dict(status)}")
    print(f"provider requests: {len(fake.requests)} by answer {dict(faults_seen)}")
    print(f"sent exactly once: {once}")
    print(f"unknown (never re-sent): {status['unknown']} (re-sent: {unknown_resent})")
    print(f"lost: {lost}")
    print(f"received twice by the provider: {twice}")
    print(f"STOPs honoured: {len(stops) - len(after_stop)} of {len(stops)}")
    print(
        f"inbound messages acknowledged: {len(acked)} of {len(items)}; lost: {len(inbound_lost)}"
        f"; dead letters: {dead}"
    )
    print(
        f"replies: {sum(replies.values())}; numbers with more replies than messages: "
        f"{len(over_replied)}"
    )
    for name, seconds in run.recoveries:
        print(f"healthy again after {name}: {seconds:.1f} s")
    ok = not (lost or twice or unknown_resent or after_stop or inbound_lost or over_replied)
    print("RESULT:", "ok" if ok else "FAILED")
    return 0 if ok else 1


def inbound_plan(
    rng: random.Random, due: list[datetime], wall0: datetime, first: float
) -> list[Inbound]:
    """INBOUND messages from random contacts over the run; a STOP only when it can be posted
    STOP_LEAD seconds before its sender's touch falls due (else it is a question)."""
    items: list[Inbound] = []
    for k in range(INBOUND):
        index = rng.randrange(N)
        latest = (due[index] - wall0).total_seconds() - STOP_LEAD
        stop = rng.random() < STOP_SHARE and latest > first
        at = rng.uniform(first, latest) if stop else rng.uniform(first, LEAD_IN + SPREAD)
        items.append(Inbound(f"wamid.bench-{k}", index, stop, at))
    return items


async def main_async(tmp: Path) -> int:
    rng = random.Random(SEED)
    settings = load_settings()
    fake_settings = sandbox_credentials(replace(settings, whatsapp_app_secret=SECRET))
    fake = FakeWhatsApp(fake_settings, Poster(), callbacks=False)
    fake.faults = FaultProfile(
        error_500=float(os.environ.get("BENCH_FAULT_500", "0.05")),
        accept_then_hang=float(os.environ.get("BENCH_FAULT_HANG", "0.02")),
        too_many=float(os.environ.get("BENCH_FAULT_429", "0.01")),
        hang=SEND_TIMEOUT * 2,
        rng=random.Random(SEED + 1),
    )
    server = LoopbackServer(fake.app())
    fake_url = await server.start()
    pg = PrivatePostgres(free_port())
    await asyncio.to_thread(pg.start)
    env = {
        "NUDGE_DATABASE_URL": pg.url,
        "NUDGE_API_KEY": KEY,
        "NUDGE_SANDBOX": "1",
        "NUDGE_NLU_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: NLU down
        "NUDGE_WHATSAPP_TOKEN": fake_settings.whatsapp_token,  # the fake's, on loopback
        "NUDGE_WHATSAPP_API_URL": fake_url,
        "NUDGE_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT),
        "NUDGE_INBOX_LEASE_SECONDS": "10",
        "NUDGE_LOG_LEVEL": "WARNING",
        "NUDGE_HOLDOUT": "0",  # every contact's chain is messaged: 5,000 touches, not ~4,500
    }
    instances = [Instance("A", env, tmp), Instance("B", env, tmp)]
    try:
        await asyncio.to_thread(instances[0].start)  # migrates the database first
        await asyncio.to_thread(instances[1].start)
        zone = daytime_zone(datetime.now(UTC), SPREAD + LEAD_IN + 600)
        run = Run()
        wall0 = datetime.now(UTC)
        due = [wall0 + timedelta(seconds=LEAD_IN + rng.uniform(0, SPREAD)) for _ in range(N)]
        async with httpx.AsyncClient() as client:
            await ingest(client, instances[0].url, due, zone)
            print(f"ingested {N} contacts in {run.now():.1f} s (zone {zone})")
            items = inbound_plan(rng, due, wall0, run.now() + 2)
            end = run.started + LEAD_IN + SPREAD + 60
            ticking = asyncio.create_task(tick(instances, client, run.started + MAX_SECONDS))
            await asyncio.gather(
                stream_inbound(instances, client, items, run), faults(instances, pg, client, run)
            )
            print(f"{run.now():6.1f} s  inbound and faults done", flush=True)
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            await settle(pg, run.started + MAX_SECONDS - 30)
            ticking.cancel()
        for instance in instances:
            await asyncio.to_thread(instance.stop)
        return await report(pg, fake, items, run)
    finally:
        for instance in instances:
            await asyncio.to_thread(instance.stop)
        await server.stop()
        await asyncio.to_thread(pg.stop)


def main() -> None:
    keep = os.environ.get("BENCH_LOGS", "")  # a directory to keep the instances' logs in
    with tempfile.TemporaryDirectory(prefix="nudge-faults-") as tmp:
        if keep:
            tmp = keep
            Path(keep).mkdir(parents=True, exist_ok=True)
        raise SystemExit(asyncio.run(asyncio.wait_for(main_async(Path(tmp)), MAX_SECONDS + 60)))


if __name__ == "__main__":
    main()
