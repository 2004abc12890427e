"""Activity on a chain's checkout moves its pending touches: touch 1 follows the last
activity (R-FL1); otherwise the pending touch is cancelled and planned again (R-SR5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.audit import audit, audit_row
from bot.store.models import Chain, Checkout, Touch
from bot.touches.context import load_context, load_contexts
from bot.touches.control import PENDING
from bot.touches.policy import choose_channel, earliest, window
from bot.touches.reasons import ACTIVITY_REARMS, TIMER_FROM_ACTIVITY
from flows.model import Flow

if TYPE_CHECKING:
    from bot.touches.planning import Planning


@dataclass
class Activity:
    """New activity on the checkout of an active chain (within the cooldown)."""

    chain: Chain
    flow: Flow  # the flow the checkout's stage calls for now
    anchor: datetime  # the checkout's last activity
    now: datetime


async def pending_touches(session: AsyncSession, chain_id: int) -> list[Touch]:
    found = await session.scalars(
        select(Touch).where(Touch.chain_id == chain_id, Touch.status.in_(PENDING))
    )
    return list(found.all())


async def rearm(
    session: AsyncSession,
    planning: Planning,
    chain: Chain,
    at: datetime,
    now: datetime,
    rule: str,
    pending: Sequence[Touch] | None = None,
) -> None:
    """Cancel the pending touches and plan the same steps again at `at` (R-SR5 revisit)."""
    flow = planning.flows.flows.get(chain.flow)
    if flow is None:
        return
    touches = await pending_touches(session, chain.id) if pending is None else pending
    ctx = None
    for touch in touches:
        touch.status, touch.rule = "cancelled", rule
        cancelled = {"step": touch.step, "re_armed_at": at.isoformat()}
        audit(session, touch_id=touch.id, **audit_row(chain, now, "cancelled", rule, cancelled))
        step = flow.step_named(touch.step)
        if step is None:
            continue
        # A cancelled or planned touch is not a sent one: one context serves every step.
        ctx = ctx or await load_context(session, chain, planning.flows, now)
        if ctx is not None:
            row, entry = planning.touch_row(ctx, step, max(at, now), now, why="re-armed")
            if row is not None:
                session.add(Touch(**row))
            audit(session, **entry)


async def move_or_rearm(
    session: AsyncSession,
    planning: Planning,
    active: Sequence[Activity],
    checkouts: Mapping[int, Checkout],
) -> None:
    """Per chain: a lone planned touch 1 with nothing sent moves in place (one UPDATE for
    the batch); other pending touches are re-armed; a chain with none is left alone."""
    if not active:
        return
    chain_ids = {a.chain.id for a in active}
    pending: dict[int, list[Touch]] = {}
    sent: set[int] = set()
    # One query for both: the pending touches and whether anything left the planner.
    for touch in await session.scalars(
        select(Touch).where(Touch.chain_id.in_(chain_ids), Touch.status != "cancelled")
    ):
        if touch.status in PENDING:
            pending.setdefault(touch.chain_id, []).append(touch)
        if touch.status != "planned":
            sent.add(touch.chain_id)
    moves: list[tuple[Activity, Touch, datetime]] = []
    for item in active:
        chain, flow = item.chain, item.flow
        mine = pending.get(chain.id, [])
        if not mine:
            continue
        if chain.id not in sent and chain.flow == flow.flow:
            first = flow.steps[0]
            delay = planning.delay(first, chain.variant)
            due = max(item.anchor + delay, item.now)
            touch = mine[0]
            if len(mine) == 1 and touch.status == "planned" and touch.step == first.step:
                moves.append((item, touch, due))
            else:
                await rearm(session, planning, chain, due, item.now, TIMER_FROM_ACTIVITY, mine)
        else:
            at = item.anchor + flow.revisit.delay
            await rearm(session, planning, chain, at, item.now, ACTIVITY_REARMS, mine)
    await _move(session, planning, moves, checkouts)


async def _move(
    session: AsyncSession,
    planning: Planning,
    moves: Sequence[tuple[Activity, Touch, datetime]],
    checkouts: Mapping[int, Checkout],
) -> None:
    if not moves:
        return
    flows = planning.flows
    chains = [item.chain for item, _, _ in moves]
    now = moves[0][0].now
    contexts = await load_contexts(session, chains, flows, now, checkouts=checkouts, read_only=True)
    moved: list[tuple[Touch, datetime, str | None]] = []
    for item, touch, due in moves:
        chain = item.chain
        ctx = contexts.get(chain.id)
        channel = choose_channel(ctx.flow, ctx) if ctx is not None else None
        if ctx is None or channel != touch.channel:
            # The channel or consent changed: cancel and plan again.
            await rearm(session, planning, chain, due, item.now, TIMER_FROM_ACTIVITY, [touch])
            continue
        at, rule = earliest(due, ctx, window(flows, planning.settings, ctx.contact))
        if at is None:  # no hour allowed any more: planning again skips it with the audit
            await rearm(session, planning, chain, due, item.now, TIMER_FROM_ACTIVITY, [touch])
            continue
        if at == touch.due_at and rule == touch.rule:
            continue
        moved.append((touch, at, rule))
        audit(
            session,
            at=item.now,
            action="re-armed",
            contact_id=chain.contact_id,
            chain_id=chain.id,
            touch_id=touch.id,
            rule=TIMER_FROM_ACTIVITY,
            detail={"step": touch.step, "due_at": at.isoformat(), "channel": channel},
        )
    if moved:
        rows = [{"id": touch.id, "due_at": at, "rule": rule} for touch, at, rule in moved]
        await session.execute(update(Touch), rows)  # by primary key, one executemany
        for touch, at, rule in moved:  # keep the loaded objects in step with the rows
            set_committed_value(touch, "due_at", at)
            set_committed_value(touch, "rule", rule)
