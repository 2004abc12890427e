"""Liveness by heartbeat and the sweeper every instance runs (R-SR9): a live instance's claims
are never taken, however old; a silent instance's claims go back to `planned` and its
`sending` touches become `unknown`, never re-sent; a send without an outcome past the deadline
is flagged even when its sender lives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.app_keys import CLOCK, FAKES, FIRING, OUTBOUND, SESSIONS
from bot.store.models import AuditEntry, Instance, Message, Touch
from bot.touches.liveness import Heartbeat
from bot.touches.recovery import Sweeper, recover
from tests.factory import at
from tests.touches_fixtures import Shop

PEER = "otherhost:1:0badf00d"  # a claimer on another host, as a container running as PID 1


async def _statuses(client: Any) -> list[str]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(Touch.status).order_by(Touch.id))).all())


async def _hold(client: Any, status: str, claimer: str, age: timedelta) -> None:
    """Every touch `status`, held by `claimer` since `age` ago (wall clock)."""
    async with client.app[SESSIONS].begin() as session:
        await session.execute(
            update(Touch).values(
                status=status, claimed_by=claimer, claimed_at=datetime.now(UTC) - age
            )
        )


async def test_a_live_instance_keeps_its_old_claims(client: Any) -> None:
    """A starting instance's recovery must not re-plan the claims of a live one, however old
    (that instance would send them too)."""
    shop = Shop(client)
    await shop.start("a")
    firing = client.app[FIRING]
    assert len(await firing.claim(at(hours=1))) == 1
    await _hold(client, "claimed", firing.instance, timedelta(minutes=10))
    assert await recover(client.app[SESSIONS], at(hours=1), "starting:2:feedbeef") == (0, 0)
    assert await _statuses(client) == ["claimed"]


async def test_a_silent_peer_claims_are_taken_over_and_sent_once(client: Any) -> None:
    """A peer on another host that claimed a touch a moment ago and then fell silent (no
    heartbeat): the survivor puts the touch back and sends it once."""
    shop = Shop(client)
    await shop.start("a")
    await _hold(client, "claimed", PEER, timedelta(seconds=1))
    assert await recover(client.app[SESSIONS], at(), client.app[FIRING].instance) == (1, 0)
    await shop.advance(hours=1)
    assert len(await shop.outbox("a")) == 1
    assert client.app[FAKES].whatsapp.attempts["79161234567"] >= 1  # released, then sent


async def test_heartbeat_decides_who_is_alive(client: Any) -> None:
    """The same peer is left alone while its heartbeat is fresh and taken over once it is
    older than the timeout; its `sending` touch becomes `unknown` with an audit entry and
    its message row too."""
    shop = Shop(client)
    await shop.start("a")
    await shop.start("b", phone="+79160000002")
    sessions = client.app[SESSIONS]
    peer = Heartbeat(sessions, PEER, timedelta(seconds=30))
    await peer.beat()
    async with sessions.begin() as session:
        touches = (await session.scalars(select(Touch).order_by(Touch.id))).all()
        message = Message(
            contact_id=touches[1].contact_id,
            direction="out",
            channel="whatsapp",
            text="x",
            status="sending",
            touch_id=touches[1].id,
            created_at=client.app[CLOCK].now(),
        )
        session.add(message)
        await session.flush()
        touches[0].status, touches[0].claimed_by = "claimed", PEER
        touches[1].status, touches[1].claimed_by = "sending", PEER
        touches[1].message_id = message.id
        for touch in touches:
            touch.claimed_at = datetime.now(UTC)
    me = Heartbeat(sessions, client.app[FIRING].instance, timedelta(seconds=30))
    sweeper = Sweeper(sessions, me, timedelta(minutes=5), client.app[OUTBOUND])
    assert (await sweeper.sweep(at())).released == 0
    assert await _statuses(client) == ["claimed", "sending"]
    async with sessions.begin() as session:
        await session.execute(
            update(Instance)
            .where(Instance.id == PEER)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=31))
        )
    swept = await sweeper.sweep(at())
    assert (swept.released, swept.unknown) == (1, 1)
    assert await _statuses(client) == ["planned", "unknown"]
    async with sessions() as session:
        assert (await session.get(Message, message.id)).status == "unknown"  # type: ignore[union-attr]
        rules = (
            await session.scalars(select(AuditEntry.rule).where(AuditEntry.action == "unknown"))
        ).all()
    assert rules == ["R-SR9 outcome unknown: sender went silent"]
    await shop.advance(days=1)
    assert client.app[FAKES].whatsapp.attempts["79160000002"] == 0  # never re-sent
    assert client.app[FAKES].whatsapp.attempts["79161234567"] >= 1  # released, then sent


async def test_a_send_past_the_deadline_is_unknown_even_if_its_sender_lives(client: Any) -> None:
    shop = Shop(client)
    await shop.start("a")
    await shop.start("b", phone="+79160000002")
    sessions = client.app[SESSIONS]
    mine = client.app[FIRING].instance
    async with sessions.begin() as session:
        touches = (await session.scalars(select(Touch).order_by(Touch.id))).all()
        for touch, age in zip(touches, (timedelta(minutes=6), timedelta(minutes=1)), strict=True):
            touch.status, touch.claimed_by = "sending", mine
            touch.claimed_at = datetime.now(UTC) - age
    me = Heartbeat(sessions, mine, timedelta(seconds=30))
    swept = await Sweeper(sessions, me, timedelta(minutes=5)).sweep(at())
    assert (swept.released, swept.unknown) == (0, 1)
    assert await _statuses(client) == ["unknown", "sending"]
