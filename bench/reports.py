"""`make bench-reports`: the recovery report over 1,000,000 touches on PostgreSQL.

A throw-away database is migrated and bulk-seeded in SQL (generate_series: contacts,
checkouts, chains, touches, their outbound messages, replies, conversations). The seed's
inserts fire the same triggers as the service's writes, which list every contact as stale;
the per-touch outcomes are then computed by the service's own refresh (timed apart, it is
the backfill migration 0003 leaves to the first refresh). Then the running service answers
the report API from a second process on loopback; the last row first moves STALE_PER_REQUEST
messages to `read` before each request, so that request also refreshes those contacts.
Bounded: REPEAT requests per endpoint, each with a 120 s timeout.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import asyncpg
import httpx

from bench.service import postgres_database, running_service
from bot.reports.outcomes import refresh_outcomes
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade_to_head

KEY = "bench-key-0123456789"
TOUCHES = int(os.environ.get("BENCH_TOUCHES", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
STALE_PER_REQUEST = 1000
TARGET_SECONDS = 2.0
PERIOD = {"from": "2026-02-01", "to": "2026-03-10"}

# Chains: 40 % get three touches, 60 % two, so chains = touches / 2.4.
SEED = """
INSERT INTO contacts (id, shop, external_id, phone, created_at, updated_at)
SELECT g, 'default', 'c' || g, '+7916' || lpad(g::text, 7, '0'), :base, :base
FROM generate_series(1, :chains) g;

INSERT INTO checkouts (id, contact_id, external_id, stage, status, item_count, total, currency,
  failed_payments, paid_at, last_activity_at, created_at, updated_at)
SELECT g, g, 'k' || g, 'cart', CASE WHEN g % 8 = 0 THEN 'paid' ELSE 'open' END, 1,
  (500 + g % 5000)::numeric(14, 2), CASE WHEN g % 5 = 0 THEN 'EUR' ELSE 'RUB' END, 0,
  CASE WHEN g % 8 = 0 THEN :base + (g % 30) * interval '1 day' + (2 + g % 90) * interval '1 hour'
  END,
  :base + (g % 30) * interval '1 day', :base, :base
FROM generate_series(1, :chains) g;

INSERT INTO chains (id, contact_id, checkout_id, flow, variant, status, stop_reason, anchor_at,
  started_at, stopped_at)
SELECT g, g, g, (ARRAY['cart', 'delivery', 'payment'])[1 + g % 3],
  (ARRAY['A', 'B'])[1 + (g / 3) % 2],
  CASE WHEN g % 29 = 0 THEN 'stopped' ELSE 'active' END,
  CASE WHEN g % 29 = 0 THEN 'opt_out' END,
  :base + (g % 30) * interval '1 day', :base + (g % 30) * interval '1 day',
  CASE WHEN g % 29 = 0 THEN :base + (g % 30) * interval '1 day' + interval '3 hours' END
FROM generate_series(1, :chains) g;

INSERT INTO touches (id, message_id, chain_id, contact_id, flow, step, variant, channel, due_at,
  status, sent_at, created_at)
SELECT row_number() OVER (), row_number() OVER (), c.id, c.contact_id, c.flow, s.step,
  c.variant, 'whatsapp',
  c.started_at + s.after, 'sent', c.started_at + s.after, c.started_at
FROM chains c
CROSS JOIN (VALUES ('first', interval '1 hour', 1), ('second', interval '24 hours', 2),
  ('third', interval '48 hours', 3)) AS s(step, after, n)
WHERE s.n < 3 OR c.id % 5 < 2;

INSERT INTO messages (id, contact_id, direction, channel, text, touch_id, author, status,
  created_at, status_at)
SELECT t.id, t.contact_id, 'out', 'whatsapp', 'hello', t.id, 'bot',
  (ARRAY['read', 'read', 'delivered', 'delivered', 'delivered', 'sent', 'failed'])[1 + t.id % 7],
  t.sent_at, t.sent_at + interval '1 minute'
FROM touches t;

INSERT INTO messages (id, contact_id, direction, channel, text, intent, status, created_at)
SELECT :touches + t.id, t.contact_id, 'in', 'whatsapp', 'reply',
  CASE WHEN t.id % 70 = 0 THEN 'opt_out' ELSE 'other' END, 'received',
  t.sent_at + interval '30 minutes'
FROM touches t WHERE t.id % 7 = 0;

INSERT INTO conversations (contact_id, state, last_inbound_at, escalated_at,
  first_operator_reply_at, resolved_by, misunderstood, updated_at)
SELECT m.contact_id, 'bot', MAX(m.created_at),
  CASE WHEN m.contact_id % 4 = 0 THEN MAX(m.created_at) + interval '1 minute' END,
  CASE WHEN m.contact_id % 4 = 0
    THEN MAX(m.created_at) + interval '1 minute' + (m.contact_id % 600) * interval '1 second'
  END,
  CASE WHEN m.contact_id % 4 = 0 THEN 'operator' ELSE 'bot' END, 0, MAX(m.created_at)
FROM messages m WHERE m.direction = 'in' GROUP BY m.contact_id;
"""


async def seed(url: str, touches: int) -> dict[str, int]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    chains = round(touches / 2.4)
    try:
        for statement in SEED.split(";\n"):
            if not statement.strip():
                continue
            sql = (
                statement.replace(":base", "timestamptz '2026-02-01 00:00:00+00'")
                .replace(":chains", str(chains))
                .replace(":touches", str(touches))
            )
            await connection.execute(sql)
        counts = {}
        for table in ("touches", "chains", "messages", "conversations"):
            counts[table] = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
        counts["stale"] = int(
            await connection.fetchval(
                "SELECT count(DISTINCT contact_id) FROM report_stale_contacts"
            )
        )
        return counts
    finally:
        await connection.close()


async def refresh(url: str) -> int:
    """The service's refresh over every contact the seed listed, then VACUUM ANALYZE (what
    autovacuum does to the touches rewritten, done now so the timing does not depend on it)."""
    engine = make_engine(url)
    try:
        rewritten = await refresh_outcomes(make_session_factory(engine))
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return rewritten


def make_stale(url: str, offset: int) -> None:
    """STALE_PER_REQUEST delivered touch messages become read (as status callbacks would)."""

    async def run() -> None:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute(
                "UPDATE messages SET status = 'read' WHERE id IN (SELECT id FROM messages "
                "WHERE direction = 'out' AND status = 'delivered' AND id > $1 ORDER BY id "
                "LIMIT $2)",
                offset,
                STALE_PER_REQUEST,
            )
        finally:
            await connection.close()

    asyncio.run(run())


def _time(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, len(response.content)


def main() -> None:
    with postgres_database() as url:
        upgrade_to_head(url)
        started = time.perf_counter()
        counts = asyncio.run(seed(url, TOUCHES))
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        rewritten = asyncio.run(refresh(url))
        refreshed = time.perf_counter() - started
        rows = []
        with running_service(url, KEY) as (base, _):
            headers = {"Authorization": f"Bearer {KEY}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for label, path, params in (
                    ("recovery", "/api/v1/reports/recovery", PERIOD),
                    ("recovery flow=cart", "/api/v1/reports/recovery", {**PERIOD, "flow": "cart"}),
                    ("timeseries", "/api/v1/reports/timeseries", PERIOD),
                ):
                    _time(client, path, params)  # warm-up: caches, first plan
                    times = [_time(client, path, params) for _ in range(REPEAT)]
                    rows.append((label, [t for t, _ in times], times[0][1]))
                label = f"recovery +{STALE_PER_REQUEST} stale"
                times = []
                for n in range(REPEAT):
                    make_stale(url, n * 10 * STALE_PER_REQUEST)
                    times.append(_time(client, "/api/v1/reports/recovery", PERIOD))
                rows.append((label, [t for t, _ in times], times[0][1]))
    print(
        f"\nreport API on PostgreSQL: {counts['touches']:,} touches, {counts['chains']:,} chains, "
        f"{counts['messages']:,} messages, {counts['conversations']:,} conversations "
        f"(seeded in {seeded:.1f} s); outcomes of {counts['stale']:,} stale contacts "
        f"({rewritten:,} touches) refreshed in {refreshed:.1f} s incl. VACUUM ANALYZE; "
        f"{REPEAT} requests each after one warm-up"
    )
    print(f"{'request':<24} {'median s':>9} {'min s':>7} {'max s':>7} {'bytes':>8} {'< 2 s':>6}")
    for label, seconds, size in rows:
        median = statistics.median(seconds)
        ok = "yes" if median < TARGET_SECONDS else "NO"
        print(
            f"{label:<24} {median:>9.2f} {min(seconds):>7.2f} {max(seconds):>7.2f}"
            f" {size:>8} {ok:>6}"
        )


if __name__ == "__main__":
    main()
