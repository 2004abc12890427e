"""checkout.updated: start a recovery chain, or merge into the contact's recent one.

One recovery chain per contact within the cooldown (R-SR3, R-SR4): a new cart joins it,
activity moves its touch 1 (R-FL1) or re-arms it (R-SR5); after the cooldown a new chain
supersedes the old one. A whole batch costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import AppliedEvent
from bot.audit import audit
from bot.store.models import Chain, Checkout
from bot.touches.context import recovery_flows
from bot.touches.control import stop_chains
from bot.touches.planning import Planning, step_delay
from bot.touches.rearm import Activity, move_or_rearm
from bot.touches.starting import NewChain, start_chains


async def latest_chains(
    session: AsyncSession, planning: Planning, contact_ids: Collection[int]
) -> dict[int, Chain]:
    """Each contact's most recent recovery chain, for a set of contacts in one query."""
    latest: dict[int, Chain] = {}
    for chain in await session.scalars(
        select(Chain)
        .where(Chain.contact_id.in_(contact_ids), Chain.flow.in_(recovery_flows(planning.flows)))
        .order_by(Chain.started_at.desc(), Chain.id.desc())
    ):
        latest.setdefault(chain.contact_id, chain)
    return latest


async def on_checkouts(
    session: AsyncSession, planning: Planning, items: Sequence[AppliedEvent]
) -> None:
    """checkout.updated events, at most one per contact (the caller keeps that order)."""
    if not items:
        return
    checkouts = {
        c.id: c
        for c in await session.scalars(
            select(Checkout).where(Checkout.id.in_({item.checkout_id for item in items}))
        )
    }
    latest = await latest_chains(session, planning, {item.contact_id for item in items})
    flows, settings = planning.flows, planning.settings
    starts: list[NewChain] = []
    superseded: list[AppliedEvent] = []
    active: list[Activity] = []
    for item in items:
        checkout = checkouts.get(item.checkout_id or 0)
        if checkout is None or checkout.status != "open":
            continue
        flow = flows.for_checkout(checkout.stage)
        if flow is None:
            continue
        now, anchor = item.received_at, checkout.last_activity_at
        recent = latest.get(item.contact_id)
        if recent is not None and recent.started_at > now - planning.cooldown:
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
            if anchor > recent.anchor_at:
                recent.anchor_at = anchor
            active.append(Activity(recent, flow, anchor, now))
            continue
        if recent is not None and recent.status in ("active", "paused"):
            superseded.append(item)
        first = flow.steps[0]
        due = anchor + step_delay(first, settings)
        starts.append(
            NewChain(
                item.contact_id, checkout, checkout.id, flow, anchor, now, [(first, due, None)]
            )
        )
    for item in superseded:  # before the new chain exists, which must stay active
        await stop_chains(session, item.contact_id, "superseded", item.received_at)
    await start_chains(session, planning, starts)
    await move_or_rearm(session, planning, active, checkouts)
