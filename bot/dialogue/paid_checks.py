"""Already paid, says the shopper (R-RP4): a planned check row, then maybe an operator.

The row is the truth (durable across restarts); the scheduler's tick — and every sandbox
clock move — resolves the checks that fell due.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import SessionFactory
from bot.store.models import Checkout, PaidCheck
from handoff.queue import StopChains, escalate

CHECK_AFTER = timedelta(minutes=15)
REASON = "money_charged_no_order"


async def plan_check(
    session: AsyncSession, contact_id: int, checkout: Checkout | None, now: datetime
) -> bool:
    """Plan a check for the shopper's checkout unless it is paid or one is planned already."""
    if checkout is not None and checkout.status == "paid":
        return False
    checkout_id = checkout.id if checkout is not None else None
    planned = await session.scalar(
        select(PaidCheck.id).where(
            PaidCheck.contact_id == contact_id,
            PaidCheck.checkout_id.is_(None)
            if checkout_id is None
            else PaidCheck.checkout_id == checkout_id,
            PaidCheck.status == "planned",
        )
    )
    if planned is not None:
        return False
    session.add(
        PaidCheck(
            contact_id=contact_id,
            checkout_id=checkout_id,
            due_at=now + CHECK_AFTER,
            status="planned",
            created_at=now,
        )
    )
    return True


async def resolve_due(session: AsyncSession, now: datetime, stop_chains: StopChains) -> int:
    """Resolve every check due by `now`; returns how many went to an operator."""
    due = (
        await session.scalars(
            select(PaidCheck)
            .where(PaidCheck.status == "planned", PaidCheck.due_at <= now)
            .order_by(PaidCheck.due_at, PaidCheck.id)
            .limit(500)
        )
    ).all()
    escalated = 0
    for check in due:
        checkout_id = check.checkout_id
        checkout = await session.get(Checkout, checkout_id) if checkout_id is not None else None
        check.resolved_at = now
        if checkout is not None and checkout.status == "paid":
            check.status = "paid"
            continue
        check.status = "escalated"
        escalated += 1
        detail = {
            "checkout": checkout.external_id if checkout else None,
            "said_paid_at": check.created_at.isoformat(),
        }
        await escalate(session, check.contact_id, REASON, now, detail, stop_chains=stop_chains)
    return escalated


def tick(
    sessions: Callable[[], SessionFactory], stop_chains: StopChains
) -> Callable[[datetime], Awaitable[int]]:
    """The scheduler tick resolving due checks (`sessions`: the factory, built at start-up)."""

    async def run(now: datetime) -> int:
        async with sessions().begin() as session:
            return await resolve_due(session, now, stop_chains)

    return run
