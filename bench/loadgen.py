"""A load generator run as its own process: posts events for a fixed time, prints JSON stats.

python -m bench.loadgen --url URL --key KEY --mode single|batch --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp


def _event(run: str, n: int) -> dict[str, Any]:
    contact = f"{run}-c{n % 5000}"
    return {
        "id": f"{run}-{n}",
        "type": "checkout.updated",
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "contact": {
            "id": contact,
            "phone": f"+7916{n % 10_000_000:07d}",
            "name": "Anna",
            "language": "ru",
        },
        "checkout": {
            "id": f"{contact}-k",
            "stage": "payment",
            "items": [{"name": "Кроссовки", "quantity": 1, "price": "5990.00"}],
            "total": "5990.00",
            "currency": "RUB",
            "resume_url": "https://shop.example/checkout/1",
        },
    }


async def run(url: str, key: str, mode: str, seconds: float, concurrency: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    size = 100 if mode == "batch" else 1
    counter = 0
    latencies: list[float] = []
    accepted = errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal counter, accepted, errors
        while time.perf_counter() < deadline:
            start = counter
            counter += size
            events = [_event(run_id, n) for n in range(start, start + size)]
            body = {"events": events} if mode == "batch" else events[0]
            began = time.perf_counter()
            async with session.post(f"{url}/api/v1/events", json=body, headers=headers) as resp:
                data = await resp.json()
                latencies.append(time.perf_counter() - began)
                if resp.status != 202:
                    errors += 1
                    continue
                accepted += sum(r["status"] == "accepted" for r in data["results"])

    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "mode": mode,
        "requests": len(latencies),
        "accepted": accepted,
        "errors": errors,
        "seconds": elapsed,
        "events_per_s": accepted / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["single", "batch"], default="single")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.key, args.mode, args.seconds, args.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
