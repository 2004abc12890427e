"""The planner: turns shop events into chains and planned touches, in the ingest transaction.

Times count from the last checkout activity (R-FL1); the policy is checked here and again
when the touch fires. One recovery chain per contact (R-SR3, R-SR4), merged carts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.api.ingest import AppliedEvent
from bot.api.schemas import (
    CheckoutUpdated,
    CheckoutVisited,
    ConsentRevoked,
    OrderPaid,
    OrderStatusChanged,
    PaymentFailed,
)
from bot.audit import audit
from bot.settings import Settings
from bot.store.models import AuditEntry, Chain, Checkout, Touch
from bot.touches.context import load_context, load_contexts, recovery_flows
from bot.touches.control import PENDING, stop_chains
from bot.touches.policy import MANUAL_REVIEW_AFTER, Context, choose_channel, earliest, window
from bot.touches.reload import FlowHolder
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


def step_delay(step: Step, settings: Settings) -> timedelta:
    if step.delay == ABANDON_AFTER:
        return timedelta(minutes=settings.abandon_after_minutes)
    assert isinstance(step.delay, timedelta)
    return step.delay


class Planner:
    """Holds what planning needs; `on_events` is registered in EVENT_LISTENERS."""

    def __init__(self, settings: Settings, flows: FlowHolder) -> None:
        self.settings = settings
        self.flows = flows

    async def on_events(self, session: AsyncSession, applied: Sequence[AppliedEvent]) -> None:
        fast = await self._first_checkouts(session, applied)
        fast |= await self._repeat_checkouts(session, applied, fast)
        for item in applied:
            if id(item) not in fast:
                await self.on_event(session, item)

    async def _first_checkouts(
        self, session: AsyncSession, applied: Sequence[AppliedEvent]
    ) -> set[int]:
        """Bulk path for the common case: one checkout.updated for a contact with no recent
        recovery chain → a new chain and its touch 1, a handful of queries per batch."""
        per_contact: dict[int, list[AppliedEvent]] = {}
        for item in applied:
            per_contact.setdefault(item.contact_id, []).append(item)
        candidates = {
            items[0].contact_id: items[0]
            for items in per_contact.values()
            if len(items) == 1
            and isinstance(items[0].event, CheckoutUpdated)
            and items[0].checkout_id is not None
        }
        if len(candidates) < 2:
            return set()
        flows = self.flows.current
        names = recovery_flows(flows)
        busy = set(
            (
                await session.scalars(
                    select(Chain.contact_id).where(
                        Chain.contact_id.in_(candidates), Chain.flow.in_(names)
                    )
                )
            ).all()
        )
        checkouts = {
            c.id: c
            for c in await session.scalars(
                select(Checkout).where(
                    Checkout.id.in_([i.checkout_id for i in candidates.values()])
                )
            )
        }
        chains: list[tuple[Chain, Flow]] = []
        handled: set[int] = set()
        for contact_id, item in candidates.items():
            checkout = checkouts.get(item.checkout_id or 0)
            flow = flows.for_checkout(checkout.stage) if checkout is not None else None
            if contact_id in busy or checkout is None or flow is None:
                continue
            handled.add(id(item))
            if checkout.status != "open":
                continue
            now = item.received_at
            chain = Chain(
                contact_id=contact_id,
                checkout_id=checkout.id,
                flow=flow.flow,
                status="active",
                anchor_at=checkout.last_activity_at,
                started_at=now,
            )
            session.add(chain)
            chains.append((chain, flow))
        if not chains:
            return handled
        await session.flush()
        contexts = await load_contexts(
            session, [c for c, _ in chains], flows, applied[0].received_at
        )
        touches: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        now = applied[0].received_at
        for chain, flow in chains:
            chain.variant = pick_variant(flow, chain.id)
            started = {"flow": flow.flow, "variant": chain.variant}
            entries.append(_entry(chain, now, "chain_started", "R-FL5 variant by hash", started))
            ctx = contexts.get(chain.id)
            if ctx is not None:
                first = flow.steps[0]
                due = max(chain.anchor_at + step_delay(first, self.settings), now)
                row, entry = plan_rows(ctx, first, due, now, flows, self.settings)
                touches.extend([row] if row is not None else [])
                entries.append(entry)
        # Rows, not ORM objects: nothing reads them back in this transaction.
        await session.execute(insert(AuditEntry), entries)
        if touches:
            await session.execute(insert(Touch), touches)
        return handled

    async def _repeat_checkouts(
        self, session: AsyncSession, applied: Sequence[AppliedEvent], done: set[int]
    ) -> set[int]:
        """Bulk path for checkout.updated of a contact whose recovery chain is within the
        cooldown: one query per table for the batch; touch 1 moves in place (R-FL1)."""
        counts = Counter(item.contact_id for item in applied)
        items = [
            item
            for item in applied
            if id(item) not in done
            and counts[item.contact_id] == 1
            and isinstance(item.event, CheckoutUpdated)
            and item.checkout_id is not None
        ]
        if not items:
            return set()
        flows = self.flows.current
        cooldown = timedelta(hours=self.settings.chain_cooldown_hours)
        since = min(item.received_at for item in items) - cooldown
        latest: dict[int, Chain] = {}
        # Any chain started within the cooldown is later than every chain before it.
        for chain in await session.scalars(
            select(Chain)
            .where(
                Chain.contact_id.in_({item.contact_id for item in items}),
                Chain.flow.in_(recovery_flows(flows)),
                Chain.started_at > since,
            )
            .order_by(Chain.started_at.desc(), Chain.id.desc())
        ):
            latest.setdefault(chain.contact_id, chain)
        checkouts = {
            c.id: c
            for c in await session.scalars(
                select(Checkout).where(Checkout.id.in_({item.checkout_id for item in items}))
            )
        }
        handled: set[int] = set()
        active: list[tuple[AppliedEvent, Chain, Flow, datetime]] = []
        for item in items:
            checkout = checkouts.get(item.checkout_id or 0)
            flow = flows.for_checkout(checkout.stage) if checkout is not None else None
            recent = latest.get(item.contact_id)
            if checkout is None or checkout.status != "open" or flow is None:
                handled.add(id(item))
                continue
            now = item.received_at
            if recent is None or recent.started_at <= now - cooldown:
                continue  # a new chain (maybe superseding): the per-event path
            handled.add(id(item))
            if recent.status != "active":
                audit(
                    session,
                    at=now,
                    action="skipped",
                    contact_id=item.contact_id,
                    chain_id=recent.id,
                    rule="R-SR3 one recovery chain per cooldown",
                    detail={"checkout": checkout.external_id, "previous": recent.status},
                )
                continue
            if recent.checkout_id != checkout.id:
                recent.checkout_id = checkout.id
                audit(
                    session,
                    at=now,
                    action="merged",
                    contact_id=item.contact_id,
                    chain_id=recent.id,
                    rule="R-SR3 carts merged into one session",
                    detail={"checkout": checkout.external_id},
                )
            recent.anchor_at = max(recent.anchor_at, checkout.last_activity_at)
            active.append((item, recent, flow, checkout.last_activity_at))
        if active:
            await self._move_or_rearm(session, active)
        return handled

    async def _move_or_rearm(
        self, session: AsyncSession, active: list[tuple[AppliedEvent, Chain, Flow, datetime]]
    ) -> None:
        """Per active chain, as `_checkout_activity`; a lone planned touch 1 with nothing sent
        is moved in place (one UPDATE per batch) instead of cancelled and planned again."""
        chain_ids = {chain.id for _, chain, _, _ in active}
        pending: dict[int, list[Touch]] = {}
        for touch in await session.scalars(
            select(Touch).where(Touch.chain_id.in_(chain_ids), Touch.status.in_(PENDING))
        ):
            pending.setdefault(touch.chain_id, []).append(touch)
        sent = set(
            (
                await session.scalars(
                    select(Touch.chain_id)
                    .where(
                        Touch.chain_id.in_(chain_ids),
                        Touch.status.notin_(("planned", "cancelled")),
                    )
                    .distinct()
                )
            ).all()
        )
        moves: list[tuple[AppliedEvent, Chain, Touch, datetime]] = []
        for item, chain, flow, anchor in active:
            mine = pending.get(chain.id, [])
            now = item.received_at
            if chain.id not in sent and mine and chain.flow == flow.flow:
                due = max(anchor + step_delay(flow.steps[0], self.settings), now)
                touch = mine[0]
                if (
                    len(mine) == 1
                    and touch.status == "planned"
                    and touch.step == flow.steps[0].step
                ):
                    moves.append((item, chain, touch, due))
                else:
                    await self._rearm(session, chain, due, now, "R-FL1 timer from last activity")
            elif mine:
                at = anchor + flow.revisit.delay
                await self._rearm(session, chain, at, now, "R-SR5 activity re-arms")
        if moves:
            await self._move(session, moves)

    async def _move(
        self, session: AsyncSession, moves: list[tuple[AppliedEvent, Chain, Touch, datetime]]
    ) -> None:
        flows = self.flows.current
        now = moves[0][0].received_at
        contexts = await load_contexts(session, [chain for _, chain, _, _ in moves], flows, now)
        moved: list[tuple[Touch, datetime, str | None]] = []
        for item, chain, touch, due in moves:
            ctx = contexts.get(chain.id)
            channel = choose_channel(ctx.flow, ctx) if ctx is not None else None
            if ctx is None or channel != touch.channel:
                # The channel or consent changed: cancel and plan again, as before.
                await self._rearm(
                    session, chain, due, item.received_at, "R-FL1 timer from last activity"
                )
                continue
            at, rule = earliest(due, ctx, window(flows, self.settings, ctx.contact))
            if at == touch.due_at and rule == touch.rule:
                continue
            moved.append((touch, at, rule))
            audit(
                session,
                at=item.received_at,
                action="re-armed",
                contact_id=chain.contact_id,
                chain_id=chain.id,
                touch_id=touch.id,
                rule="R-FL1 timer from last activity",
                detail={"step": touch.step, "due_at": at.isoformat(), "channel": channel},
            )
        if moved:
            rows = [{"id": touch.id, "due_at": at, "rule": rule} for touch, at, rule in moved]
            await session.execute(update(Touch), rows)  # by primary key, one executemany
            for touch, at, rule in moved:  # keep the loaded objects in step with the rows
                set_committed_value(touch, "due_at", at)
                set_committed_value(touch, "rule", rule)

    async def on_event(self, session: AsyncSession, item: AppliedEvent) -> None:
        event, now = item.event, item.received_at
        if isinstance(event, CheckoutUpdated) and item.checkout_id is not None:
            await self._checkout_activity(session, item.contact_id, item.checkout_id, now)
        elif isinstance(event, CheckoutVisited) and item.checkout_id is not None:
            await self._revisit(session, item.contact_id, item.checkout_id, event.occurred_at, now)
        elif isinstance(event, PaymentFailed) and item.checkout_id is not None:
            await self._payment_failed(session, item.contact_id, item.checkout_id, event, now)
        elif isinstance(event, OrderPaid) and item.checkout_id is not None:
            await self._paid(session, item.contact_id, item.checkout_id, now)
        elif isinstance(event, OrderStatusChanged):
            await self._order_status(session, item.contact_id, item.checkout_id, event, now)
        elif isinstance(event, ConsentRevoked) and event.channel == "all":
            await stop_chains(session, item.contact_id, "opt_out", now)

    # --- helpers -------------------------------------------------------------------------

    async def _recent_chain(self, session: AsyncSession, contact_id: int) -> Chain | None:
        names = recovery_flows(self.flows.current)
        found: Chain | None = await session.scalar(
            select(Chain)
            .where(Chain.contact_id == contact_id, Chain.flow.in_(names))
            .order_by(Chain.started_at.desc(), Chain.id.desc())
            .limit(1)
        )
        return found

    async def _new_chain(
        self,
        session: AsyncSession,
        contact_id: int,
        checkout_id: int | None,
        flow: Flow,
        anchor: datetime,
        now: datetime,
    ) -> Chain:
        chain = Chain(
            contact_id=contact_id,
            checkout_id=checkout_id,
            flow=flow.flow,
            status="active",
            anchor_at=anchor,
            started_at=now,
        )
        session.add(chain)
        await session.flush()
        chain.variant = pick_variant(flow, chain.id)
        audit(
            session,
            at=now,
            action="chain_started",
            contact_id=contact_id,
            chain_id=chain.id,
            rule="R-FL5 variant by hash",
            detail={"flow": flow.flow, "variant": chain.variant},
        )
        return chain

    async def plan(
        self,
        session: AsyncSession,
        chain: Chain,
        step: Step,
        due: datetime,
        now: datetime,
        *,
        name: str | None = None,
        why: str = "planned",
    ) -> Touch | None:
        """Plan one touch after checking the policy; None (and an audit entry) when not allowed."""
        flows = self.flows.current
        ctx = await load_context(session, chain, flows, now)
        if ctx is None:
            return None
        return plan_with(session, ctx, step, max(due, now), now, flows, self.settings, name, why)

    async def _pending(self, session: AsyncSession, chain_id: int) -> list[Touch]:
        return list(
            (
                await session.scalars(
                    select(Touch).where(Touch.chain_id == chain_id, Touch.status.in_(PENDING))
                )
            ).all()
        )

    async def _rearm(
        self, session: AsyncSession, chain: Chain, at: datetime, now: datetime, rule: str
    ) -> None:
        """Cancel the pending touch and plan the same step again at `at` (R-SR5 revisit)."""
        flow = self.flows.current.flows.get(chain.flow)
        if flow is None:
            return
        for touch in await self._pending(session, chain.id):
            touch.status, touch.rule = "cancelled", rule
            audit(
                session,
                at=now,
                action="cancelled",
                contact_id=chain.contact_id,
                chain_id=chain.id,
                touch_id=touch.id,
                rule=rule,
                detail={"step": touch.step, "re_armed_at": at.isoformat()},
            )
            step = flow.step_named(touch.step)
            if step is not None:
                await self.plan(session, chain, step, at, now, why="re-armed")

    # --- events --------------------------------------------------------------------------

    async def _checkout_activity(
        self, session: AsyncSession, contact_id: int, checkout_id: int, now: datetime
    ) -> None:
        checkout = await session.get(Checkout, checkout_id)
        if checkout is None or checkout.status != "open":
            return
        flows = self.flows.current
        flow = flows.for_checkout(checkout.stage)
        if flow is None:
            return
        anchor = checkout.last_activity_at
        cooldown = timedelta(hours=self.settings.chain_cooldown_hours)
        recent = await self._recent_chain(session, contact_id)
        if recent is not None and recent.started_at > now - cooldown:
            if recent.status != "active":
                audit(
                    session,
                    at=now,
                    action="skipped",
                    contact_id=contact_id,
                    chain_id=recent.id,
                    rule="R-SR3 one recovery chain per cooldown",
                    detail={"checkout": checkout.external_id, "previous": recent.status},
                )
                return
            if recent.checkout_id != checkout_id:
                recent.checkout_id = checkout_id
                audit(
                    session,
                    at=now,
                    action="merged",
                    contact_id=contact_id,
                    chain_id=recent.id,
                    rule="R-SR3 carts merged into one session",
                    detail={"checkout": checkout.external_id},
                )
            recent.anchor_at = max(recent.anchor_at, anchor)
            pending = await self._pending(session, recent.id)
            sent_any = await session.scalar(
                select(Touch.id).where(
                    Touch.chain_id == recent.id, Touch.status.notin_(("planned", "cancelled"))
                )
            )
            if sent_any is None and pending and recent.flow == flow.flow:
                # Nothing sent yet: touch 1 simply moves with the last activity (R-FL1).
                due = anchor + step_delay(flow.steps[0], self.settings)
                await self._rearm(session, recent, due, now, "R-FL1 timer from last activity")
            elif pending:
                at = anchor + flow.revisit.delay
                await self._rearm(session, recent, at, now, "R-SR5 activity re-arms")
            return
        if recent is not None and recent.status in ("active", "paused"):
            await stop_chains(session, contact_id, "superseded", now)
        chain = await self._new_chain(session, contact_id, checkout_id, flow, anchor, now)
        await self.plan(
            session, chain, flow.steps[0], anchor + step_delay(flow.steps[0], self.settings), now
        )

    async def _revisit(
        self,
        session: AsyncSession,
        contact_id: int,
        checkout_id: int,
        visited_at: datetime,
        now: datetime,
    ) -> None:
        chain = await session.scalar(
            select(Chain).where(
                Chain.contact_id == contact_id,
                Chain.checkout_id == checkout_id,
                Chain.status == "active",
            )
        )
        if chain is None:
            return
        flow = self.flows.current.flows.get(chain.flow)
        if flow is None:
            return
        chain.anchor_at = max(chain.anchor_at, visited_at)
        at = max(visited_at, now) + flow.revisit.delay
        await self._rearm(session, chain, at, now, "R-SR5 revisit re-arms")

    async def _payment_failed(
        self,
        session: AsyncSession,
        contact_id: int,
        checkout_id: int,
        event: PaymentFailed,
        now: datetime,
    ) -> None:
        checkout = await session.get(Checkout, checkout_id)
        if checkout is None or checkout.status == "paid":
            return
        if checkout.failed_payments >= MANUAL_REVIEW_AFTER:
            await stop_chains(session, contact_id, "manual_review", now)
            audit(
                session,
                at=now,
                action="manual_review",
                contact_id=contact_id,
                rule="R-FL2 5 failed payments",
                detail={"checkout": checkout.external_id, "failures": checkout.failed_payments},
            )
            from handoff.queue import escalate  # the dialogue part; imported late on purpose

            await escalate(session, contact_id, "manual_review", now)
            return
        flow = self.flows.current.for_payment(event.reason)
        if flow is None:
            return
        cooldown = timedelta(hours=self.settings.chain_cooldown_hours)
        recent = await self._recent_chain(session, contact_id)
        same_session = recent is not None and recent.checkout_id == checkout_id
        if recent is not None and recent.status == "active":
            await stop_chains(session, contact_id, "superseded", now)
        elif (
            recent is not None
            and recent.started_at > now - cooldown
            and not (same_session and recent.stop_reason == "superseded")
        ):
            audit(
                session,
                at=now,
                action="skipped",
                contact_id=contact_id,
                chain_id=recent.id,
                rule="R-SR3 one recovery chain per cooldown",
                detail={"checkout": checkout.external_id, "previous": recent.status},
            )
            return
        anchor = event.occurred_at
        chain = await self._new_chain(session, contact_id, checkout_id, flow, anchor, now)
        first = flow.steps[0]
        await self.plan(session, chain, first, anchor + step_delay(first, self.settings), now)

    async def _paid(
        self, session: AsyncSession, contact_id: int, checkout_id: int, now: datetime
    ) -> None:
        checkout = await session.get(Checkout, checkout_id)
        await session.execute(
            update(Chain)
            .where(
                Chain.contact_id == contact_id,
                Chain.checkout_id == checkout_id,
                Chain.status.in_(("active", "paused")),
            )
            .values(recovered_at=now, recovered_amount=checkout.total if checkout else None)
        )
        await stop_chains(session, contact_id, "paid", now)

    async def _order_status(
        self,
        session: AsyncSession,
        contact_id: int,
        checkout_id: int | None,
        event: OrderStatusChanged,
        now: datetime,
    ) -> None:
        flow = self.flows.current.for_order_status()
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
                rule="R-FL3 no template for this status",
                detail={"status": status},
            )
            return
        chain = await self._new_chain(session, contact_id, checkout_id, flow, now, now)
        await self.plan(session, chain, first, now, now, name=f"{first.step}:{status}"[:64])
        for step in flow.steps[1:]:
            if status in step.statuses:
                due = now + step_delay(step, self.settings)
                await self.plan(session, chain, step, due, now, name=f"{step.step}:{status}"[:64])


def plan_rows(
    ctx: Context,
    step: Step,
    due: datetime,
    now: datetime,
    flows: FlowSet,
    settings: Settings,
    name: str | None = None,
    why: str = "planned",
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The new touch's row (None when not allowed) and its audit entry's fields."""
    chain = ctx.chain
    channel = choose_channel(ctx.flow, ctx)
    if channel is None:
        skipped = {"step": step.step}
        return None, _entry(chain, now, "skipped", "R-SR1 no consent", skipped)
    at, rule = earliest(due, ctx, window(flows, settings, ctx.contact))
    touch = {
        "chain_id": chain.id,
        "contact_id": chain.contact_id,
        "flow": chain.flow,
        "step": name or step.step,
        "variant": chain.variant,
        "channel": channel,
        "due_at": at,
        "status": "planned",
        "rule": rule,
        "created_at": now,
    }
    detail = {"step": touch["step"], "due_at": at.isoformat(), "channel": channel}
    return touch, _entry(chain, now, why, rule or f"R-SR1 consent {channel}", detail)


def _entry(
    chain: Chain, now: datetime, action: str, rule: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "at": now,
        "action": action,
        "contact_id": chain.contact_id,
        "chain_id": chain.id,
        "rule": rule,
        "detail": detail,
    }


def plan_with(
    session: AsyncSession,
    ctx: Context,
    step: Step,
    due: datetime,
    now: datetime,
    flows: FlowSet,
    settings: Settings,
    name: str | None = None,
    why: str = "planned",
) -> Touch | None:
    """Check consent and hours for a new touch; add it (status planned) when allowed."""
    row, entry = plan_rows(ctx, step, due, now, flows, settings, name, why)
    touch = Touch(**row) if row is not None else None
    if touch is not None:
        session.add(touch)
    audit(session, **entry)
    return touch
