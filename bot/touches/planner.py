"""The planner: turns shop events into chains and planned touches, in the ingest transaction.

Times count from the last checkout activity (R-FL1); the policy is checked here and again
when the touch fires. One recovery chain per contact (R-SR3, R-SR4), merged carts.

- `activity`: checkout.updated (new chains, merged carts, touch 1 moves), in bulk;
- `lifecycle`: revisit, failed payment, paid, order status, one event at a time;
- `starting`: new chains with their first touches as rows; `rearm`: moving pending touches;
- `planning`: the pure part (variant, delay, touch row), which firing uses too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import AppliedEvent
from bot.api.schemas import (
    CheckoutUpdated,
    CheckoutVisited,
    ConsentRevoked,
    OrderPaid,
    OrderStatusChanged,
    PaymentFailed,
)
from bot.settings import Settings
from bot.touches.activity import on_checkouts
from bot.touches.control import stop_chains
from bot.touches.lifecycle import on_order_status, on_paid, on_payment_failed, on_revisit
from bot.touches.planning import Planning, pick_variant, plan_rows, plan_with, step_delay
from flows.designer import DesignerFiles

__all__ = ["Planner", "pick_variant", "plan_rows", "plan_with", "step_delay"]


class Planner:
    """Holds what planning needs; `on_events` is registered in EVENT_LISTENERS."""

    def __init__(self, settings: Settings, flows: DesignerFiles) -> None:
        self.settings = settings
        self.flows = flows

    async def on_events(self, session: AsyncSession, applied: Sequence[AppliedEvent]) -> None:
        """A contact's only event, when it is a checkout.updated, is planned in bulk with
        the others like it; a contact with several events has them planned in order."""
        planning = Planning(self.settings, self.flows.current)
        counts = Counter(item.contact_id for item in applied)
        alone = [
            item
            for item in applied
            if counts[item.contact_id] == 1
            and isinstance(item.event, CheckoutUpdated)
            and item.checkout_id is not None
        ]
        await on_checkouts(session, planning, alone)
        bulk = {id(item) for item in alone}
        for item in applied:
            if id(item) not in bulk:
                await self._on_event(session, planning, item)

    async def _on_event(
        self, session: AsyncSession, planning: Planning, item: AppliedEvent
    ) -> None:
        event, now, contact_id = item.event, item.received_at, item.contact_id
        checkout_id = item.checkout_id
        if isinstance(event, CheckoutUpdated) and checkout_id is not None:
            await on_checkouts(session, planning, [item])
        elif isinstance(event, CheckoutVisited) and checkout_id is not None:
            await on_revisit(session, planning, contact_id, checkout_id, event.occurred_at, now)
        elif isinstance(event, PaymentFailed) and checkout_id is not None:
            await on_payment_failed(session, planning, contact_id, checkout_id, event, now)
        elif isinstance(event, OrderPaid) and checkout_id is not None:
            await on_paid(session, contact_id, checkout_id, now)
        elif isinstance(event, OrderStatusChanged):
            await on_order_status(session, planning, contact_id, checkout_id, event, now)
        elif isinstance(event, ConsentRevoked) and event.channel == "all":
            await stop_chains(session, contact_id, "opt_out", now)
