"""A provider's Retry-After (R-CH2): a short one is waited inside the send; one longer than a
send may hold reschedules the touch, which the rules check again when it falls due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app_keys import FAKES, SESSIONS
from bot.channels.fakes.whatsapp import Scripted, graph_error
from bot.store.models import AuditEntry, Message, Touch
from tests.touches_fixtures import Shop

PHONE = "79161234567"


def _rate_limited(seconds: int) -> Scripted:
    return Scripted(429, graph_error(130429, "Rate limit hit"), {"Retry-After": str(seconds)})


async def _first_touch(client: Any) -> Touch:
    async with client.app[SESSIONS]() as session:
        touch = await session.scalar(select(Touch).order_by(Touch.id).limit(1))
        assert touch is not None
        return touch


async def test_a_long_retry_after_reschedules_the_touch(client: Any) -> None:
    """Refused with Retry-After 120: the touch is planned again for 120 s later (the sandbox
    clock walks through it), not failed; the second request goes out then, and only then."""
    shop = Shop(client)
    await shop.start("a")
    fake = client.app[FAKES].whatsapp
    fake.script[PHONE] = [_rate_limited(120)]
    await shop.advance(hours=1)
    assert fake.attempts[PHONE] == 2
    touch = await _first_touch(client)
    assert touch.status == "sent"
    async with client.app[SESSIONS]() as session:
        deferred = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.touch_id == touch.id, AuditEntry.action == "deferred"
            )
        )
        messages = (
            await session.execute(
                select(Message.status, Message.created_at)
                .where(Message.touch_id == touch.id)
                .order_by(Message.id)
            )
        ).all()
    assert deferred is not None and "Retry-After" in (deferred.rule or "")
    assert [status for status, _ in messages] == ["failed", "sent"]  # the refusal on record
    assert messages[1][1] - messages[0][1] == timedelta(seconds=120)
    assert deferred.detail is not None
    assert deferred.detail["until"] == messages[1][1].isoformat()


async def test_a_short_retry_after_is_waited_inside_the_send(client: Any) -> None:
    shop = Shop(client)
    await shop.start("a")
    fake = client.app[FAKES].whatsapp
    fake.script[PHONE] = [_rate_limited(1)]
    await shop.advance(hours=1)
    assert fake.attempts[PHONE] == 2
    assert (await _first_touch(client)).status == "sent"
