"""Load generators on loopback.

`run` (the events API, closed loop): run as its own process, posts events for a fixed time,
prints JSON stats: python -m bench.loadgen --url URL --key KEY --mode single|batch --seconds 10
(`--mode shopify --key SECRET`: signed Shopify checkouts/create webhooks, one per request).

`open_loop` (webhooks): pre-built raw HTTP/1.1 requests sent at a fixed rate over keep-alive
connections by bare asyncio protocols, latency from each request's intended send time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
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


def _shopify_checkout(run: str, n: int) -> dict[str, Any]:
    """A checkouts/create payload (the fields Nudge reads, as Shopify sends them)."""
    token = f"{run}{n:026x}"
    return {
        "id": n,
        "token": token,
        "updated_at": "2026-03-02T12:00:00+03:00",
        "completed_at": None,
        "gateway": None,
        "shipping_lines": [],
        "currency": "RUB",
        "presentment_currency": "RUB",
        "customer_locale": "ru-RU",
        "total_price": "5990.00",
        "abandoned_checkout_url": f"https://demo.myshopify.com/1/checkouts/ac/{token}/recover",
        "line_items": [{"title": "Кроссовки", "variant_title": "42", "quantity": 1,
                        "price": "5990.00"}],
        "phone": f"+7916{n % 10_000_000:07d}",
        "customer": {"id": 7_000_000 + n % 5000, "first_name": "Anna"},
    }  # fmt: skip


def _shopify_request(run: str, n: int, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(_shopify_checkout(run, n)).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "checkouts/create",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-Webhook-Id": f"{run}-{n}",
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
            if mode == "shopify":
                body, signed = _shopify_request(run_id, start, key)
                began = time.perf_counter()
                path = f"{url}/integrations/shopify/webhooks"
                async with session.post(path, data=body, headers=signed) as resp:
                    answer = await resp.json()
                    latencies.append(time.perf_counter() - began)
                    if resp.status != 200 or answer.get("status") != "accepted":
                        errors += 1
                    else:
                        accepted += 1
                continue
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


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight: reads status and Content-Length only."""

    def __init__(self, load: _OpenLoop) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.intended = 0.0  # when the request now in flight was due; 0 when idle

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, raw: bytes, intended: float) -> None:
        self.intended = intended
        assert self.transport is not None
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or not self.intended:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        if at < 0:  # the servers measured always send Content-Length; anything else is an error
            self._fail()
            return
        line_end = head.find(b"\r\n", at)
        length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        intended, self.intended = self.intended, 0.0
        self.load.answered(self, int(head[9:12]), intended)

    def _fail(self) -> None:
        if self.intended:
            intended, self.intended = self.intended, 0.0
            self.load.answered(self, 0, intended)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost(self)
        if self.intended:
            intended, self.intended = self.intended, 0.0
            self.load.answered(None, 0, intended)


class _OpenLoop:
    """Request i is due at t0 + i/rate whatever the earlier ones are doing; a due request takes
    an idle connection or waits for one (a new connection is opened then), and its latency
    counts from when it was due, so a slow server is not hidden (no coordinated omission)."""

    def __init__(self, port: int, requests: list[bytes], rate: float, max_connections: int):
        self.port = port
        self.requests = requests
        self.rate = rate
        self.max_connections = max_connections
        self.loop = asyncio.get_running_loop()
        self.idle: list[_Connection] = []
        self.open = 0  # connected or connecting
        self.waiting: deque[tuple[bytes, float]] = deque()
        self.next = 0
        self.t0 = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.last = 0.0
        self.finished = self.loop.create_future()

    async def connect(self) -> None:
        self.open += 1
        try:
            _, connection = await self.loop.create_connection(
                lambda: _Connection(self), "127.0.0.1", self.port
            )
        except OSError:
            self.open -= 1
            if self.waiting:  # count the request that asked for it as failed
                _, intended = self.waiting.popleft()
                self.answered(None, 0, intended)
            return
        self.release(connection)

    def start(self, t0: float) -> None:
        self.t0 = t0
        self.loop.call_at(t0, self.tick)

    def tick(self) -> None:
        now = self.loop.time()
        while self.next < len(self.requests):
            due = self.t0 + self.next / self.rate
            if due > now:
                self.loop.call_at(due, self.tick)
                break
            self.dispatch(self.requests[self.next], due)
            self.next += 1

    def dispatch(self, raw: bytes, intended: float) -> None:
        if self.idle and not self.waiting:
            self.idle.pop().send(raw, intended)
            return
        self.waiting.append((raw, intended))
        if self.open < self.max_connections:
            self.loop.create_task(self.connect())

    def release(self, connection: _Connection) -> None:
        if self.waiting:
            connection.send(*self.waiting.popleft())
        else:
            self.idle.append(connection)

    def answered(self, connection: _Connection | None, status: int, intended: float) -> None:
        self.last = self.loop.time()
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status:
            self.latencies.append(self.last - intended)
        if connection is not None and status:
            self.release(connection)
        if sum(self.statuses.values()) == len(self.requests) and not self.finished.done():
            self.finished.set_result(None)

    def lost(self, connection: _Connection) -> None:
        self.open -= 1
        if connection in self.idle:
            self.idle.remove(connection)


async def open_loop(
    port: int,
    requests: list[bytes],
    rate: float,
    *,
    answer_within: float = 10.0,
    warm_connections: int = 16,
    max_connections: int = 512,
) -> dict[str, Any]:
    """Offer `requests` (raw HTTP/1.1, keep-alive) to 127.0.0.1:`port` at `rate` per second.

    Returns ok (2xx), errors, throughput (ok per second from the first due time to the last
    answer), p50/p99/max latency in ms and client_cpu_ms: this process's CPU per request."""
    load = _OpenLoop(port, requests, rate, max_connections)
    for _ in range(min(warm_connections, max_connections)):
        await load.connect()
    cpu = time.process_time()
    t0 = load.loop.time() + 0.01
    load.start(t0)
    # A request unanswered `answer_within` seconds after the last one was due is an error.
    await asyncio.wait([load.finished], timeout=len(requests) / rate + answer_within + 0.01)
    client_cpu = time.process_time() - cpu
    for connection in list(load.idle):
        if connection.transport is not None:
            connection.transport.close()
    answered = sum(load.statuses.values())
    latencies = sorted(load.latencies)
    ok = sum(n for status, n in load.statuses.items() if 200 <= status < 300)
    elapsed = max(load.last - t0, 1e-9)

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "offered": len(requests),
        "ok": ok,
        "errors": len(requests) - ok,
        "unanswered": len(requests) - answered,
        "statuses": dict(sorted(load.statuses.items())),
        "throughput": ok / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else 0,
        "client_cpu_ms": client_cpu * 1000 / max(1, answered),
        "connections": load.open,
    }


def raw_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A complete HTTP/1.1 POST with the body, ready to write to a socket."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["single", "batch", "shopify"], default="single")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.key, args.mode, args.seconds, args.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
