"""`make bench-events`: events API and signed Shopify webhooks (one checkout each), throughput
and latency on SQLite and PostgreSQL, one run.

The service runs as `nudge run` in its own process; the load comes from a second process
on loopback. Each phase is bounded (BENCH_SECONDS, default 10 s). Besides events/s, the
service's CPU time per accepted event (user + system, from /proc) is printed: it does not
depend on what else the machine runs. `python -m bench.events_profile` breaks it down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.service import (
    ROOT,
    cpu_seconds,
    peak_rss_mb,
    postgres_database,
    running_service,
    sqlite_database,
)

KEY = "bench-key-0123456789"
SHOPIFY_SECRET = "bench-shopify-secret"
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


def _load(url: str, mode: str, concurrency: int) -> dict[str, float]:
    key = SHOPIFY_SECRET if mode == "shopify" else KEY
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--url",
            url,
            "--key",
            key,
            "--mode",
            mode,
            "--seconds",
            str(SECONDS),
            "--concurrency",
            str(concurrency),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    return dict(json.loads(output.stdout))


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, database in (
            ("SQLite", sqlite_database(Path(tmp))),
            ("PostgreSQL", postgres_database()),
        ):
            secret = {"NUDGE_SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET}
            with database as url, running_service(url, KEY, secret) as (base, process):
                for mode, concurrency in (("single", 32), ("batch", 8), ("shopify", 32)):
                    cpu = cpu_seconds(process.pid)
                    result = _load(base, mode, concurrency)
                    used = cpu_seconds(process.pid) - cpu
                    result["cpu_ms"] = 1000 * used / max(1.0, result["accepted"])
                    rows.append((name, mode, result, peak_rss_mb(process.pid)))
    print(f"\nevents API, {SECONDS:.0f} s per phase, load from a second process on loopback")
    print(
        f"{'database':<11} {'request':<10} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'RSS MiB':>8} {'CPU ms/event':>12}"
    )
    for name, mode, r, rss in rows:
        label = {"single": "1 event", "batch": "100/batch", "shopify": "Shopify"}[mode]
        print(
            f"{name:<11} {label:<10} {r['events_per_s']:>9.0f} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {int(r['errors']):>6} {rss:>8.0f} {r['cpu_ms']:>12.3f}"
        )


if __name__ == "__main__":
    main()
