"""Starting chains in bulk: ids, variants, first touches and audit entries as rows.

A batch of new chains costs a fixed handful of statements: one to take ids, one INSERT each
for chains, audit entries and touches, and the policy's lookups (`load_contexts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.ids import take_ids
from bot.store.models import AuditEntry, Chain, Checkout, Touch
from bot.touches import reasons
from bot.touches.context import from_row, load_contexts
from flows.model import Flow, Step

if TYPE_CHECKING:
    from bot.touches.planning import Planning

# Core tables: rows go in without building ORM objects (nothing reads them back as such).
CHAINS, AUDIT, TOUCHES = (cast(Table, m.__table__) for m in (Chain, AuditEntry, Touch))
_INSERT_CHAINS, _INSERT_AUDIT, _INSERT_TOUCHES = (insert(t) for t in (CHAINS, AUDIT, TOUCHES))


@dataclass
class NewChain:
    """A chain to start: whose, for which checkout, and the steps to plan right away."""

    contact_id: int
    checkout: Checkout | None
    checkout_id: int | None
    flow: Flow
    anchor: datetime
    now: datetime
    steps: Sequence[tuple[Step, datetime, str | None]] = ()  # (step, due, touch name)
    order_id: str | None = None  # the shop's order, for order-status chains


async def new_chain_ids(session: AsyncSession, count: int) -> list[int]:
    """Ids for `count` chains, taken before the INSERT so the variant (a hash of the id,
    R-FL5) is written with the row instead of by a second UPDATE. On SQLite the events
    INSERT before this holds the write lock, as `take_ids` needs."""
    return await take_ids(session, CHAINS, count)


async def start_chains(
    session: AsyncSession, planning: Planning, starts: Sequence[NewChain]
) -> list[Chain]:
    """Insert the chains (status active), plan their steps by the policy, audit both.

    Returns the chains as read-only `from_row` objects.
    """
    if not starts:
        return []
    if session.new or session.dirty or session.deleted:
        await session.flush()  # earlier audit entries keep their place in the timeline
    ids = await new_chain_ids(session, len(starts))
    chain_rows: list[dict[str, Any]] = []
    for start, chain_id in zip(starts, ids, strict=True):
        chain_rows.append(
            {
                "id": chain_id,
                "contact_id": start.contact_id,
                "checkout_id": start.checkout_id,
                "flow": start.flow.flow,
                "variant": planning.variant(start.flow, chain_id),
                "holdout": planning.held_out(start.flow, chain_id),
                "status": "active",
                "anchor_at": start.anchor,
                "started_at": start.now,
                "order_id": start.order_id,
            }
        )
    await session.execute(_INSERT_CHAINS, chain_rows)
    chains = [from_row(Chain, row) for row in chain_rows]
    known = {s.checkout.id: s.checkout for s in starts if s.checkout is not None}
    flows = planning.flows
    contexts = await load_contexts(
        session, chains, flows, starts[0].now, checkouts=known, new_chains=True, read_only=True
    )
    entries: list[dict[str, Any]] = []
    touches: list[dict[str, Any]] = []
    for start, chain in zip(starts, chains, strict=True):
        started = {"flow": chain.flow, "variant": chain.variant, "holdout": chain.holdout}
        entries.append(
            planning.entry(chain, start.now, "chain_started", reasons.VARIANT_BY_HASH, started)
        )
        ctx = contexts.get(chain.id)
        if ctx is None:
            continue
        for step, due, name in start.steps:
            if chain.variant in step.delays:  # the variant's own timing (R-FL5)
                due = start.anchor + planning.delay(step, chain.variant)
            row, entry = planning.touch_row(ctx, step, max(due, start.now), start.now, name)
            if row is not None:
                touches.append(row)
            entries.append(entry)
    await session.execute(_INSERT_AUDIT, entries)
    if touches:
        await session.execute(_INSERT_TOUCHES, touches)
    return chains
