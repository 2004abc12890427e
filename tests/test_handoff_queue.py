"""The hand-off queue stops the contact's chains with the function it is given (R-RP4, R-SR5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app_keys import CLOCK, SESSIONS
from bot.store.models import Chain, Contact, Conversation, Touch
from bot.touches.control import stop_chains
from handoff.queue import escalate
from tests.dialogue_fixtures import shopper

Client = TestClient[Any, Any]


async def _contact_id(client: Client) -> int:
    async with client.app[SESSIONS]() as session:
        found = await session.scalar(select(Contact.id).where(Contact.external_id == "c1"))
    assert found is not None
    return found


async def test_a_handoff_cancels_deferred_touches_too(client: Client) -> None:
    await shopper(client)
    contact_id = await _contact_id(client)
    async with client.app[SESSIONS].begin() as session:  # e.g. moved out of quiet hours
        await session.execute(
            update(Touch).where(Touch.status == "planned").values(status="deferred")
        )
    async with client.app[SESSIONS]() as session:
        deferred = (await session.scalars(select(Touch.id).where(Touch.status == "deferred"))).all()
    assert deferred, "the shopper's chain planned a touch"
    now = client.app[CLOCK].now()
    async with client.app[SESSIONS].begin() as session:
        await escalate(session, contact_id, "returns", now, stop_chains=stop_chains)
    async with client.app[SESSIONS]() as session:
        statuses = (await session.scalars(select(Touch.status).where(Touch.id.in_(deferred)))).all()
        chains = (await session.scalars(select(Chain.status))).all()
        state = await session.scalar(
            select(Conversation.state).where(Conversation.contact_id == contact_id)
        )
    assert set(statuses) == {"cancelled"}
    assert set(chains) == {"stopped"}
    assert state == "waiting_operator"


async def test_the_queue_stops_chains_with_the_function_it_is_given(client: Client) -> None:
    await shopper(client)
    contact_id = await _contact_id(client)
    calls: list[tuple[int, str]] = []

    async def recording(session: AsyncSession, cid: int, reason: str, now: datetime) -> None:
        calls.append((cid, reason))

    async with client.app[SESSIONS].begin() as session:
        await escalate(
            session, contact_id, "returns", client.app[CLOCK].now(), stop_chains=recording
        )
    assert calls == [(contact_id, "handoff")]
    async with client.app[SESSIONS]() as session:
        planned = (await session.scalars(select(Touch.status))).all()
    assert "planned" in planned  # only the given function stops chains
