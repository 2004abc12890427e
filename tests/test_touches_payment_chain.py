"""Payment reminders keep their own timing and one chain per checkout (R-FL2, R-SR3, R-SR4)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app_keys import SESSIONS
from bot.store.models import Chain
from tests.factory import at, checkout_updated, payment_failed
from tests.touches_fixtures import Shop


async def test_checkout_activity_does_not_move_a_card_reminder(client: Any) -> None:
    """A checkout.updated after payment.failed: the card reminder still comes at 09:06."""
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.advance(minutes=1)
    await shop.post(payment_failed("c1", "card_data", at(minutes=1)))
    await shop.advance(minutes=1)
    await shop.post(checkout_updated("c1", stage="payment", when=at(minutes=2)))
    await shop.advance(minutes=10)
    out = await shop.outbox("c1")
    assert [(o["touch"]["flow"], o["sent_at"]) for o in out] == [
        ("payment_card", "2026-03-02T09:06:00Z")
    ]


async def test_failures_of_one_checkout_share_one_payment_chain(client: Any) -> None:
    """Three failures within minutes: one chain, one reminder now and one the next day."""
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    for minute in (0, 10, 20):
        await shop.post(payment_failed("c1", "card_data", at(minutes=minute)))
        await shop.advance(minutes=10)
    await shop.advance(days=2)
    out = await shop.outbox("c1")
    assert [(o["touch"]["step"], o["sent_at"]) for o in out] == [
        ("reminder_1", "2026-03-02T09:05:00Z"),
        ("reminder_2", "2026-03-03T09:00:00Z"),
    ]
    async with client.app[SESSIONS]() as session:
        flows = (await session.scalars(select(Chain.flow).order_by(Chain.id))).all()
    assert flows == ["abandoned_checkout", "payment_card"]
    entries = await shop.timeline("c1")
    assert (
        sum(e["rule"] == "R-SR4 failure joins the checkout's payment chain" for e in entries) == 2
    )


async def test_payment_reminders_of_several_checkouts_at_most_three_a_day(client: Any) -> None:
    """Failures on four checkouts of one contact: at most 3 payment reminders a local day."""
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    for n in range(4):
        kid = f"k{n}"
        await shop.post(checkout_updated("c1", kid=kid, stage="payment", when=at(minutes=10 * n)))
        await shop.post(payment_failed("c1", "card_data", at(minutes=10 * n), kid=kid))
        await shop.advance(minutes=10)
    await shop.advance(hours=12)
    days = [o["sent_at"][:10] for o in await shop.outbox("c1")]
    assert days.count("2026-03-02") == 3
    rules = [e["rule"] for e in await shop.timeline("c1")]
    assert "R-SR3 3 payment reminders a day" in rules
