"""The rarer shop events, one at a time: revisit, failed payment, paid, order status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.schemas import OrderStatusChanged, PaymentFailed
from bot.audit import audit
from bot.store.models import Chain, Checkout
from bot.touches import reasons
from bot.touches.activity import latest_chains, skipped_for_cooldown
from bot.touches.control import stop_chains
from bot.touches.policy import MANUAL_REVIEW_AFTER
from bot.touches.rearm import rearm
from bot.touches.starting import NewChain, start_chains

if TYPE_CHECKING:
    from bot.touches.planning import Planning


async def on_revisit(
    session: AsyncSession,
    planning: Planning,
    contact_id: int,
    checkout_id: int,
    visited_at: datetime,
    now: datetime,
) -> None:
    """A revisit re-arms the pending touch of the checkout's active chain (R-SR5)."""
    chain = await session.scalar(
        select(Chain).where(
            Chain.contact_id == contact_id,
            Chain.checkout_id == checkout_id,
            Chain.status == "active",
        )
    )
    if chain is None:
        return
    flow = planning.flows.flows.get(chain.flow)
    if flow is None:
        return
    chain.anchor_at = max(chain.anchor_at, visited_at)
    at = max(visited_at, now) + flow.revisit.delay
    await rearm(session, planning, chain, at, now, reasons.REVISIT_REARMS)


async def on_payment_failed(
    session: AsyncSession,
    planning: Planning,
    contact_id: int,
    checkout_id: int,
    event: PaymentFailed,
    now: datetime,
) -> None:
    """A payment reminder chain (R-FL2), superseding an active chain; 5 failures → a person."""
    checkout = await session.get(Checkout, checkout_id)
    if checkout is None or checkout.status == "paid":
        return
    if checkout.failed_payments >= MANUAL_REVIEW_AFTER:
        await stop_chains(session, contact_id, reasons.MANUAL_REVIEW, now)
        audit(
            session,
            at=now,
            action="manual_review",
            contact_id=contact_id,
            rule=reasons.FIVE_FAILED_PAYMENTS,
            detail={"checkout": checkout.external_id, "failures": checkout.failed_payments},
        )
        from handoff.queue import escalate  # the dialogue part; imported late on purpose

        await escalate(session, contact_id, reasons.MANUAL_REVIEW, now, stop_chains=stop_chains)
        return
    flow = planning.flows.for_payment(event.reason)
    if flow is None:
        return
    recent = (await latest_chains(session, planning, [contact_id])).get(contact_id)
    same_session = recent is not None and recent.checkout_id == checkout_id
    recent_flow = planning.flows.flows.get(recent.flow) if recent is not None else None
    if (
        recent is not None
        and recent.status == "active"
        and same_session
        and recent_flow is not None
        and recent_flow.is_payment
    ):  # one payment chain per checkout (R-SR4)
        audit(
            session,
            at=now,
            action="joined",
            contact_id=contact_id,
            chain_id=recent.id,
            rule=reasons.JOINS_PAYMENT_CHAIN,
            detail={"checkout": checkout.external_id, "failures": checkout.failed_payments},
        )
        return
    if recent is not None and recent.status == "active":
        await stop_chains(session, contact_id, reasons.SUPERSEDED, now)
    elif (
        recent is not None
        and recent.started_at > now - planning.cooldown
        and not (same_session and recent.stop_reason == reasons.SUPERSEDED)
    ):
        skipped_for_cooldown(session, recent, checkout, now)
        return
    anchor, first = event.occurred_at, flow.steps[0]
    due = anchor + planning.delay(first)
    start = NewChain(contact_id, checkout, checkout_id, flow, anchor, now, [(first, due, None)])
    await start_chains(session, planning, [start])


async def on_paid(session: AsyncSession, contact_id: int, checkout_id: int, now: datetime) -> None:
    """Paid: every chain of the contact stops (R-SR5). Whether a chain counts as recovered is
    the reports listener's decision alone (attribution window, R-MX1)."""
    await stop_chains(session, contact_id, reasons.PAID, now)


async def on_order_status(
    session: AsyncSession,
    planning: Planning,
    contact_id: int,
    checkout_id: int | None,
    event: OrderStatusChanged,
    now: datetime,
) -> None:
    """A service chain for an order status (R-FL3), with the steps meant for that status."""
    flow = planning.flows.for_order_status()
    if flow is None:
        return
    status = event.order.status.lower()
    first = flow.steps[0]
    if first.template_for(None, status) is None:
        audit(
            session,
            at=now,
            action="skipped",
            contact_id=contact_id,
            rule=reasons.NO_STATUS_TEMPLATE,
            detail={"status": status},
        )
        return
    steps = [(first, now, f"{first.step}:{status}"[:64])]
    for step in flow.steps[1:]:
        if status in step.statuses:
            due = now + planning.delay(step)
            steps.append((step, due, f"{step.step}:{status}"[:64]))
    start = NewChain(contact_id, None, checkout_id, flow, now, now, steps, event.order.id)
    await start_chains(session, planning, [start])
