"""Two firing instances on one database, in one process: a touch another instance took over is
never sent by its former claimer too (R-SR9). The fake provider records every request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.app_keys import CLOCK, FAKES, FIRING, FLOWS, METRICS, OUTBOUND, SESSIONS, SETTINGS
from bot.store.models import Message, Touch
from bot.touches.firing import Firing
from bot.touches.firing.jobs import Job
from flows.loader import FlowSet
from tests.touches_fixtures import Shop

PHONE = "79161234567"  # the fixtures' contact, as the Graph API fake records it


def second_instance(client: Any) -> Firing:
    app = client.app
    return Firing(app[SESSIONS], app[CLOCK], app[SETTINGS], app[FLOWS], app[OUTBOUND], app[METRICS])


async def test_a_claim_taken_over_mid_batch_is_sent_once(client: Any) -> None:
    """Instance A claimed and decided the touch; before A marks it `sending`, its claim is
    taken (as a peer does with the claims of an instance it believes gone) and instance B
    sends it. A must then drop it, not send it a second time."""
    shop = Shop(client)
    await shop.start("a")
    sessions = client.app[SESSIONS]
    first, second = client.app[FIRING], second_instance(client)
    send_all = first._send_all

    async def taken_over_before_sending(jobs: list[Job], flows: FlowSet, now: datetime) -> None:
        async with sessions.begin() as session:
            await session.execute(
                update(Touch)
                .where(Touch.status == "claimed")
                .values(status="planned", claimed_by=None, claimed_at=None)
            )
        assert await second.tick(now) == 1
        await send_all(jobs, flows, now)

    first._send_all = taken_over_before_sending  # type: ignore[method-assign]
    await shop.advance(hours=1)
    assert client.app[FAKES].whatsapp.attempts[PHONE] == 1
    async with sessions() as session:
        statuses = (await session.scalars(select(Touch.status).order_by(Touch.id))).all()
        messages = await session.scalar(select(func.count()).select_from(Message))
    assert statuses[0] == "sent" and messages == 1
