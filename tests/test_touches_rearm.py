"""R-FL1 on the bulk path: repeated checkout.updated moves the one pending touch 1 in place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app_keys import SESSIONS
from bot.store.models import Touch
from tests.factory import at, checkout_updated
from tests.touches_fixtures import Shop


async def test_many_updates_leave_one_touch_due_from_last_activity(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.start("c2", phone="+79160000002")
    for minute in range(1, 6):  # both contacts in one request: the batch path
        await shop.advance(minutes=1)
        await shop.post(
            checkout_updated("c1", when=at(minutes=minute)),
            checkout_updated("c2", when=at(minutes=minute), phone="+79160000002"),
        )
    await shop.post(checkout_updated("c1", when=at(minutes=5)))  # same activity time: nothing moves
    async with client.app[SESSIONS]() as session:
        touches = (await session.scalars(select(Touch).order_by(Touch.contact_id))).all()
    assert [(t.step, t.status) for t in touches] == [("touch_1", "planned")] * 2
    assert {t.due_at for t in touches} == {at(minutes=35)}
    rearmed = [e for e in await shop.timeline("c1") if e["action"] == "re-armed"]
    assert len(rearmed) == 5
    assert {e["rule"] for e in rearmed} == {"R-FL1 timer from last activity"}
    await shop.advance(minutes=29)  # 09:34
    assert await shop.outbox("c1") == []
    await shop.advance(minutes=2)
    assert [o["touch"]["step"] for o in await shop.outbox("c1")] == ["touch_1"]
