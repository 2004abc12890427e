"""Background processing gives way to a stream of acknowledgements, never to a lone webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.inbound_writer import InboundWriter
from bot.webhooks.inbox import AckFirst


@pytest.fixture
async def writer() -> AsyncIterator[InboundWriter]:
    engine: AsyncEngine = create_async_engine("sqlite+aiosqlite:///:memory:")
    yield InboundWriter(engine, busy_rate=200)
    await engine.dispose()


async def test_load_is_a_rate_not_a_single_ack(writer: InboundWriter) -> None:
    writer._count(100.00)
    assert not writer.under_load(100.01)  # a shopper's reply alone
    for i in range(30):  # 30 acknowledgements within 60 ms: 500/s
        writer._count(100.02 + i * 0.002)
    assert writer.under_load(100.09) and writer.under_load(100.15)
    assert not writer.under_load(100.35)  # the stream stopped


async def _overlap(gate: AckFirst, turns: int, acks: int = 0) -> int:
    """How many turns were inside the gate at once, at most; `acks` arrive before each turn."""
    inside = peak = 0
    loop = asyncio.get_running_loop()

    async def one() -> None:
        nonlocal inside, peak
        for _ in range(acks):
            gate.writer._count(loop.time())
        async with gate.turn():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(turns)))
    return peak


async def test_processing_is_serialized_only_under_load(writer: InboundWriter) -> None:
    gate = AckFirst(writer, share=0.5, longest_pause=0.01)
    assert await _overlap(gate, 4) == 4  # idle: every worker runs
    assert await _overlap(gate, 4, acks=50) == 1  # a stream of acknowledgements: one at a time
    assert writer.under_load()
