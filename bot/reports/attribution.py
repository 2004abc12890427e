"""Recovery attribution at payment time: marks the chain recovered and counts it (R-MX1).

The report recomputes attribution in SQL; this listener only sets `chains.recovered_at`
and `recovered_amount` (the payment time and total, or none when no touch was sent within
the window before it) and feeds the Prometheus counters, touching no other column.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import AppliedEvent, EventListener
from bot.api.schemas import OrderPaid
from bot.app_keys import METRICS, SETTINGS
from bot.store.models import Chain, Checkout, Touch

log = logging.getLogger(__name__)


async def attribute_payment(
    session: AsyncSession, checkout_id: int, window: timedelta
) -> list[tuple[str, str | None, float]]:
    """Set or clear `recovered_*` on the chains of a paid checkout by the attribution window.

    The only writer of these columns. Returns (flow, currency, amount) for each chain newly
    credited with this payment.
    """
    checkout = await session.get(Checkout, checkout_id)
    if checkout is None or checkout.status != "paid" or checkout.paid_at is None:
        return []
    paid_at = checkout.paid_at
    last_sent = (
        select(func.max(Touch.sent_at))
        .where(Touch.chain_id == Chain.id, Touch.sent_at.is_not(None), Touch.sent_at <= paid_at)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Chain.id, Chain.flow, Chain.recovered_at, last_sent).where(
            Chain.checkout_id == checkout_id
        )
    )
    recovered: list[tuple[str, str | None, float]] = []
    for chain_id, flow, before, sent_at in rows.all():
        within = sent_at is not None and paid_at - sent_at <= window
        values = (
            {"recovered_at": paid_at, "recovered_amount": checkout.total}
            if within
            else {"recovered_at": None, "recovered_amount": None}
        )
        await session.execute(update(Chain).where(Chain.id == chain_id).values(**values))
        if within and before != paid_at:  # a repeated payment event is not counted twice
            recovered.append((flow, checkout.currency, float(checkout.total or 0)))
    return recovered


def make_listener(app: web.Application) -> EventListener:
    """An EVENT_LISTENERS entry: runs inside the events transaction for `order.paid`."""

    async def on_events(session: AsyncSession, applied: Sequence[AppliedEvent]) -> None:
        window = timedelta(hours=app[SETTINGS].attribution_hours)
        metrics = app[METRICS]
        for item in applied:
            if not isinstance(item.event, OrderPaid) or item.checkout_id is None:
                continue
            for flow, currency, amount in await attribute_payment(
                session, item.checkout_id, window
            ):
                metrics.recovered_total.labels(flow=flow).inc()
                metrics.recovered_revenue_total.labels(currency=currency or "unknown").inc(amount)
                log.info("chain of checkout %s recovered (flow %s)", item.checkout_id, flow)

    return on_events
