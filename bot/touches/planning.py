"""Planning touches from shop events, in the ingest transaction.

Times count from the last checkout activity (R-FL1); the policy is checked here and again
when the touch fires. One recovery chain per contact (R-SR3, R-SR4), merged carts.

- `Planner`: the event listener; checkout.updated goes to `activity` (new chains, merged
  carts, touch 1 moves) in bulk, the rarer events to `lifecycle` one at a time;
- `starting`: new chains with their first touches as rows; `rearm`: moving pending touches;
- here also the pure part (variant, holdout, delay, the touch row and its audit entry), which
  firing and the fallback use too; the event handlers reach it through `Planning`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
from bot.audit import audit_row
from bot.phones import country_of
from bot.settings import Settings
from bot.store.models import Chain
from bot.touches import reasons
from bot.touches.activity import on_checkouts
from bot.touches.control import stop_chains
from bot.touches.lifecycle import on_order_status, on_paid, on_payment_failed, on_revisit
from bot.touches.policy import Context, choose_channel, earliest, window
from flows.designer import DesignerFiles
from flows.loader import FlowSet
from flows.model import ABANDON_AFTER, Flow, Step


def pick_variant(flow: Flow, chain_id: int) -> str:
    """Deterministic per chain: a hash of flow and chain id over the weights (R-FL5)."""
    digest = int(hashlib.sha256(f"{flow.flow}:{chain_id}".encode()).hexdigest()[:8], 16)
    total = sum(flow.variants.values())
    point = digest % total
    for name, weight in flow.variants.items():
        if point < weight:
            return name
        point -= weight
    return next(iter(flow.variants))


def in_holdout(flow: Flow, chain_id: int, settings: Settings) -> bool:
    """Deterministic per chain, apart from the variant's hash: the flow's holdout share gets
    no messages at all (R-MX3)."""
    share = flow.holdout_percent if settings.holdout_enabled else 0
    if share <= 0:
        return False
    digest = int(hashlib.sha256(f"holdout:{flow.flow}:{chain_id}".encode()).hexdigest()[:8], 16)
    return digest % 100 < share


def step_delay(step: Step, settings: Settings, variant: str | None = None) -> timedelta:
    """The step's delay for the chain's variant (an A/B timing override, R-FL5)."""
    if variant is not None and variant in step.delays:
        return step.delays[variant]
    if step.delay == ABANDON_AFTER:
        return timedelta(minutes=settings.abandon_after_minutes)
    assert isinstance(step.delay, timedelta)
    return step.delay


@dataclass(frozen=True)
class Planning:
    """What one batch is planned with: the settings and the flow set in force for it."""

    settings: Settings
    flows: FlowSet

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self.settings.chain_cooldown_hours)

    def delay(self, step: Step, variant: str | None = None) -> timedelta:
        return step_delay(step, self.settings, variant)

    def variant(self, flow: Flow, chain_id: int) -> str:
        return pick_variant(flow, chain_id)

    def held_out(self, flow: Flow, chain_id: int) -> bool:
        return in_holdout(flow, chain_id, self.settings)

    def touch_row(
        self,
        ctx: Context,
        step: Step,
        due: datetime,
        now: datetime,
        name: str | None = None,
        why: str = "planned",
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The new touch's row (None when not allowed) and its audit entry's fields."""
        chain = ctx.chain
        if chain.holdout:
            held_out = {"step": name or step.step}
            return None, audit_row(chain, now, "held_out", reasons.HOLDOUT, held_out)
        channel = choose_channel(ctx.flow, ctx)
        if channel is None:
            skipped = {"step": step.step}
            return None, audit_row(chain, now, "skipped", reasons.NO_CONSENT, skipped)
        at, rule = earliest(due, ctx, window(self.flows, self.settings, ctx.contact))
        if at is None:
            skipped = {"step": step.step}
            return None, audit_row(
                chain, now, "skipped", rule or reasons.NO_ALLOWED_MOMENT, skipped
            )
        touch = {
            "chain_id": chain.id,
            "contact_id": chain.contact_id,
            "flow": chain.flow,
            "step": name or step.step,
            "variant": chain.variant,
            "channel": channel,
            "country": country_of(ctx.contact.phone),
            "due_at": at,
            "status": "planned",
            "rule": rule,
            "created_at": now,
        }
        detail = {"step": touch["step"], "due_at": at.isoformat(), "channel": channel}
        return touch, audit_row(chain, now, why, rule or reasons.consent_for(channel), detail)

    @staticmethod
    def entry(
        chain: Chain, now: datetime, action: str, rule: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        """`audit_row`: the fields of an audit entry about a chain."""
        return audit_row(chain, now, action, rule, detail)


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
            await stop_chains(session, contact_id, reasons.OPT_OUT, now)
