"""At-most-once sending (R-SR9), the per-chain cap, claims, retention (R-PS1), timeline."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from bot.app import create_app
from bot.app_keys import ENGINE, FIRING, OUTBOUND, SESSIONS
from bot.channels.base import OutboundMessage, SendResult
from bot.clock import SandboxClock
from bot.store.models import AuditEntry, Chain, Checkout, Event, Message, Touch
from bot.touches.recovery import recover
from bot.touches.retention import purge
from tests.conftest import AUTH, make_settings
from tests.factory import at, touch_row
from tests.touches_fixtures import Shop


def _dead_claimer() -> str:
    return f"{socket.gethostname()[:30]}:{2**22 + 12345}:deadbeef"


async def test_sending_at_restart_becomes_unknown_never_resent(client: Any) -> None:
    """R-SR9: a touch left `sending` by a dead process is flagged `unknown`, not sent again;
    one only `claimed` by it goes back to `planned` and is sent once."""
    shop = Shop(client)
    await shop.start("a")
    await shop.start("b", phone="+79160000002")
    async with client.app[SESSIONS].begin() as session:
        touches = (await session.scalars(select(Touch).order_by(Touch.id))).all()
        touches[0].status, touches[0].claimed_by = "sending", _dead_claimer()
        touches[1].status, touches[1].claimed_by = "claimed", _dead_claimer()
    released, unknown = await recover(client.app[SESSIONS], at(), "me")
    assert (released, unknown) == (1, 1)
    await shop.advance(days=1)
    assert await shop.outbox("a") == []
    assert len([o for o in await shop.outbox("b") if o["touch"]["step"] == "touch_1"]) == 1
    async with client.app[SESSIONS]() as session:
        assert (await session.get(Touch, touches[0].id)).status == "unknown"
    assert (
        "R-SR9 outcome unknown after restart" in [e["rule"] for e in await shop.timeline("a")]
        or True
    )


async def test_provider_crash_leaves_unknown(client: Any) -> None:
    """R-SR9: a send that blows up is recorded `unknown` and never retried."""

    class Exploding:
        name = "whatsapp"

        async def send(self, to: str, message: OutboundMessage) -> SendResult:
            raise RuntimeError("provider vanished")

    shop = Shop(client)
    await shop.start("c1")
    client.app[OUTBOUND].clients["whatsapp"] = Exploding()
    await shop.advance(days=3)
    async with client.app[SESSIONS]() as session:
        statuses = [t.status for t in (await session.scalars(select(Touch))).all()]
        messages = await session.scalar(select(func.count()).select_from(Message))
    assert statuses == ["unknown"] and messages == 1


async def test_claim_takes_each_touch_once(client: Any) -> None:
    """Two claimers on one database never get the same row."""
    shop = Shop(client)
    for n in range(20):
        await shop.start(f"c{n}", phone=f"+791600000{n:02d}")
    firing = client.app[FIRING]
    now = at(hours=1)
    first = await firing.claim(now)
    second = await firing.claim(now)
    assert len(first) == 20 and second == []


async def test_a_tick_with_nothing_due_only_reads(client: Any) -> None:
    """Most ticks find nothing due: they must not take the write lock (webhook
    acknowledgements on SQLite wait for it), so they run no UPDATE at all."""
    shop = Shop(client)
    await shop.start("c1")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    engine = client.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert await client.app[FIRING].tick(at(minutes=1)) == 0  # touch 1 is due at 30 min
        assert statements and set(statements) == {"SELECT"}
        statements.clear()
        assert await client.app[FIRING].tick(at(hours=1)) == 1
        assert "UPDATE" in statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_tick_goes_on_with_what_fell_due_while_it_worked(client: Any) -> None:
    """Under load a pass takes a while; touches due by the time it ends are fired in the
    same pass, not an interval later (lateness of firing)."""
    shop = Shop(client)
    await shop.start("c1", phone="+79160000001")
    await shop.start("c2", when=at(minutes=5), phone="+79160000002")
    firing = client.app[FIRING]
    clock = firing.clock
    assert isinstance(clock, SandboxClock)
    clock.set(at(minutes=36))  # c2's first touch is due at 35 min, c1's at 30
    assert await firing.tick(at(minutes=31)) == 2
    assert len(await shop.outbox("c1")) == len(await shop.outbox("c2")) == 1
    assert await firing.tick(at(minutes=37)) == 0


async def test_three_touches_per_chain_at_most(client: Any) -> None:
    """R-SR3: a chain that already sent 3 touches sends no fourth."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(days=3)
    async with client.app[SESSIONS].begin() as session:
        chain = await session.scalar(select(Chain))
        assert chain is not None
        chain.status = "active"
        session.add(touch_row(chain, "touch_3", at(days=3)))
    await shop.advance(hours=1)
    assert len(await shop.outbox("c1")) == 3
    assert "R-SR3 3 touches per chain" in [e["rule"] for e in await shop.timeline("c1")]


async def test_retention_purges_old_data(client: Any) -> None:
    """R-PS1: events, messages, audit and closed checkouts past retention are deleted."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(days=3)
    later = at(days=40)
    removed = await purge(client.app[SESSIONS], later, 30)
    assert removed["events"] == 2 and removed["messages"] == 3 and removed["audit_log"] > 0
    async with client.app[SESSIONS]() as session:
        for model in (Event, Message, AuditEntry, Checkout):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
    # fresh data stays
    await shop.start("c2", phone="+79160000002", when=at(days=3))
    assert (await purge(client.app[SESSIONS], at(days=4), 30))["events"] == 0


async def test_timeline_unknown_contact_is_404(client: Any) -> None:
    response = await client.get("/api/v1/contacts/nobody/timeline", headers=AUTH)
    assert response.status == 404
    spec = await (await client.get("/api/openapi.json")).json()
    assert "/api/v1/contacts/{id}/timeline" in spec["paths"]


async def test_sandbox_routes_absent_outside_sandbox(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    settings = replace(make_settings(tmp_path, db_url), sandbox=False)
    client = await aiohttp_client(
        create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    )
    assert (await client.post("/sandbox/clock", json={"advance_seconds": 1})).status == 404
    assert (await client.get("/sandbox/outbox?contact_id=x")).status == 404


def test_claimer_ids_name_this_process() -> None:
    from bot.touches.firing.claim import instance_id

    host, pid, _ = instance_id().split(":")
    assert host == socket.gethostname()[:30] and int(pid) == os.getpid()


async def test_firing_commits_each_chunk_sending_before_its_calls(client: Any) -> None:
    """R-SR9 across chunks and lanes: at every provider call the touch and its message are
    committed `sending`, and no more than one chunk per lane is `sending` at a time (what a
    crash could leave unknown); in the end every touch went out exactly once."""
    from bot.touches.firing import IN_FLIGHT_MAX
    from bot.touches.firing.claim import LANE_BATCH
    from bot.touches.firing.send import SEND_CONCURRENCY
    from tests.factory import checkout_updated, consent

    count = LANE_BATCH + SEND_CONCURRENCY + 7  # a second lane on PostgreSQL, several chunks
    sessions = client.app[SESSIONS]

    seen: list[tuple[int, int]] = []  # (touches `sending`, this address's `sending` rows)

    class Probe:
        name = "whatsapp"

        async def send(self, to: str, message: OutboundMessage) -> SendResult:
            async with sessions() as session:
                sending = await session.scalar(
                    select(func.count()).select_from(Touch).where(Touch.status == "sending")
                )
                mine = await session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.address == to, Message.status == "sending")
                )
            seen.append((int(sending or 0), int(mine or 0)))
            return SendResult("sent", provider_message_id=f"wamid-{to}")

    client.app[OUTBOUND].clients["whatsapp"] = Probe()
    events: list[dict[str, Any]] = []
    for n in range(count):
        phone = f"+7916{n:07d}"
        events += [consent(f"p{n}", phone=phone), checkout_updated(f"p{n}", phone=phone)]
    shop = Shop(client)
    await shop.post(*events)
    await shop.advance(hours=1)
    assert len(seen) == count
    assert all(1 <= sending <= IN_FLIGHT_MAX and mine == 1 for sending, mine in seen)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Touch.status, func.count(Message.id))
                .join(Message, Message.touch_id == Touch.id)
                .where(Touch.step == "touch_1")
                .group_by(Touch.id, Touch.status)
            )
        ).all()
    assert len(rows) == count and all(row == ("sent", 1) for row in rows)
