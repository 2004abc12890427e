"""Counts the work behind the events API: service CPU per event, SQL statements per request.

python -m bench.events_profile [--single 3000] [--batch 20000] [--db sqlite|postgres|both]
                               [--profile DIR] [--shapes]

Wall-clock throughput is noisy on a shared machine; these counts are not. The service runs
as `nudge run` in its own process (wrapped to count statements and, with --profile, to run
cProfile); a second process posts a fixed number of events, shaped as `bench.loadgen` does
(5,000 contacts: the first 5,000 events start chains, later ones repeat checkouts). SIGUSR1
marks the start and the end of the measured phase, so start-up and migrations are not
counted.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

from bench.loadgen import _event
from bench.service import ROOT, postgres_database, running_service, sqlite_database

KEY = "bench-key-0123456789"


def _shape(statement: str) -> str:
    """A statement's kind and table, e.g. `INSERT INTO touches`, for the per-kind counts."""
    text = " ".join(statement.split())
    match = re.match(
        r"(SELECT .*? FROM \w+|INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|\w+)", text, re.I
    )
    head = match.group(1) if match else text[:40]
    if head.upper().startswith("SELECT"):
        head = "SELECT … FROM " + head.rsplit(" ", 1)[-1]
    return head


def serve(port: int, out: Path, profile: bool) -> None:
    """Run the service; each SIGUSR1 toggles measuring, the second one writes `out`."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    shapes: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    state: dict[str, Any] = {"on": False}
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        if state["on"]:
            shapes[_shape(args[2])] += 1
            context = args[4]
            stats = context._get_cache_stats() if context is not None else "raw sql"
            if not stats.startswith(("cached", "raw")):
                misses[_shape(args[2])] += 1  # compiled again: the statement cache missed

    def toggle(signum: int, frame: Any) -> None:
        if not state["on"]:
            shapes.clear()
            misses.clear()
            state.update(on=True, cpu=time.process_time(), wall=time.perf_counter())
            state["user"] = os.times().user
            if profile:
                profiler.enable()
            return
        if profile:
            profiler.disable()
            profiler.dump_stats(str(out.with_suffix(".prof")))
        state["on"] = False
        result = {
            "cpu_s": time.process_time() - state["cpu"],
            "user_s": os.times().user - state["user"],
            "wall_s": time.perf_counter() - state["wall"],
            "statements": sum(shapes.values()),
            "shapes": dict(shapes.most_common()),
            "misses": dict(misses.most_common()),
        }
        out.write_text(json.dumps(result))

    signal.signal(signal.SIGUSR1, toggle)
    from bot.cli import main

    sys.exit(main(["run", "--port", str(port)]))


async def _post(url: str, mode: str, total: int, concurrency: int) -> dict[str, Any]:
    """Post `total` events, one per request or 100 per request; count and time them."""
    run_id = uuid.uuid4().hex[:6]
    size = 100 if mode == "batch" else 1
    starts = iter(range(0, total, size))
    accepted = errors = requests = 0
    headers = {"Authorization": f"Bearer {KEY}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal accepted, errors, requests
        for start in starts:
            events = [_event(run_id, n) for n in range(start, min(total, start + size))]
            body = {"events": events} if mode == "batch" else events[0]
            async with session.post(f"{url}/api/v1/events", json=body, headers=headers) as resp:
                data = await resp.json()
                requests += 1
                if resp.status != 202:
                    errors += 1
                    continue
                accepted += sum(r["status"] == "accepted" for r in data["results"])

    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "requests": requests,
        "accepted": accepted,
        "errors": errors,
        "events_per_s": accepted / elapsed,
    }


def _phase(url: str, mode: str, total: int, profile_dir: Path | None, tmp: Path) -> dict[str, Any]:
    out = tmp / f"phase-{uuid.uuid4().hex}.json"  # new name: it appears once counts are written
    serve = ["-m", "bench.events_profile", "serve", "--out", str(out)]
    serve += ["--cprofile"] if profile_dir else []
    with running_service(url, KEY, serve=serve) as (base, process):
        process.send_signal(signal.SIGUSR1)
        concurrency = "32" if mode == "single" else "8"
        load = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.events_profile",
                "load",
                "--url",
                base,
                "--mode",
                mode,
                "--events",
                str(total),
                "--concurrency",
                concurrency,
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        process.send_signal(signal.SIGUSR1)
        for _ in range(100):
            if out.exists():
                break
            time.sleep(0.1)
        counts: dict[str, Any] = json.loads(out.read_text())
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        name = f"{'pg' if 'postgresql' in url else 'sqlite'}-{mode}"
        out.with_suffix(".prof").replace(profile_dir / f"{name}.prof")
        with (profile_dir / f"{name}.txt").open("w") as text:
            stats = pstats.Stats(str(profile_dir / f"{name}.prof"), stream=text)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
    return counts | {"load": json.loads(load.stdout)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("serve")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--cprofile", action="store_true")
    post = sub.add_parser("load")
    post.add_argument("--url", required=True)
    post.add_argument("--mode", choices=["single", "batch"], required=True)
    post.add_argument("--events", type=int, required=True)
    post.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--single", type=int, default=3000, help="events posted one by one")
    parser.add_argument("--batch", type=int, default=20000, help="events posted 100 a request")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--profile", type=Path, help="write cProfile stats to this folder")
    parser.add_argument("--shapes", action="store_true", help="statement counts per kind")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.out, args.cprofile)
        return
    if args.command == "load":
        result = asyncio.run(_post(args.url, args.mode, args.events, args.concurrency))
        print(json.dumps(result))
        return
    modes = [(mode, n) for mode, n in (("single", args.single), ("batch", args.batch)) if n]
    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for db in ("sqlite", "postgres"):
            if args.db not in (db, "both"):
                continue
            for mode, total in modes:  # a fresh database per phase: the same work every run
                with ExitStack() as stack:
                    database = sqlite_database(tmp) if db == "sqlite" else postgres_database()
                    url = stack.enter_context(database)
                    rows.append((db, mode, _phase(url, mode, total, args.profile, tmp)))
    print(
        f"{'database':<9} {'request':<9} {'events':>7} {'ev/s':>6} {'CPU ms/ev':>9} "
        f"{'user ms/ev':>10} {'CPU %':>6} {'stmts/req':>9} {'stmts/ev':>8}"
    )
    for db, mode, r in rows:
        load = r["load"]
        events = max(1, int(load["accepted"]))
        print(
            f"{db:<9} {mode:<9} {events:>7} {load['events_per_s']:>6.0f} "
            f"{1000 * r['cpu_s'] / events:>9.3f} {1000 * r['user_s'] / events:>10.3f} "
            f"{100 * r['cpu_s'] / r['wall_s']:>6.0f} "
            f"{r['statements'] / max(1, load['requests']):>9.2f} {r['statements'] / events:>8.3f}"
        )
        if args.shapes:
            for shape, count in r["shapes"].items():
                missed = r["misses"].get(shape, 0)
                print(
                    f"    {count / events:>8.3f}/ev  {shape}"
                    + (f" ({missed} compiled)" * bool(missed))
                )


if __name__ == "__main__":
    main()
