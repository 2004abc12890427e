"""checkout.updated: start a recovery chain, or merge into the contact's recent one.

One recovery chain per contact within the cooldown (R-SR3, R-SR4): a new cart joins it,
activity moves its touch 1 (R-FL1) or re-arms it (R-SR5); after the cooldown a new chain
supersedes the old one. A whole batch costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.api.ingest import AppliedEvent
from bot.audit import audit, audit_row
from bot.store.models import Chain, Checkout
from bot.touches import reasons
from bot.touches.context import from_row, recovery_flows
from bot.touches.control import stop_chains
from bot.touches.rearm import Activity, move_or_rearm
from bot.touches.starting import NewChain, start_chains

if TYPE_CHECKING:
    from bot.touches.planning import Planning

CHAINS, CHECKOUTS = cast(Table, Chain.__table__), cast(Table, Checkout.__table__)
# Built once: these run for every batch of events.
_LATEST = (
    select(CHAINS)
    .where(
        CHAINS.c.contact_id.in_(bindparam("contacts", expanding=True)),
        CHAINS.c.flow.in_(bindparam("flows", expanding=True)),
    )
    .order_by(CHAINS.c.started_at.desc(), CHAINS.c.id.desc())
)
_CHECKOUTS = select(CHECKOUTS).where(CHECKOUTS.c.id.in_(bindparam("ids", expanding=True)))
# By primary key, one executemany for the batch (bound names must differ from columns).
_MOVE_CHAIN = (
    update(CHAINS)
    .where(CHAINS.c.id == bindparam("chain"))
    .values(checkout_id=bindparam("checkout"), anchor_at=bindparam("anchor"))
)


def skipped_for_cooldown(
    session: AsyncSession, recent: Chain, checkout: Checkout, now: datetime
) -> None:
    """Audit a checkout that starts no chain: the last one began within the cooldown."""
    previous = {"checkout": checkout.external_id, "previous": recent.status}
    audit(session, **audit_row(recent, now, "skipped", reasons.ONE_CHAIN_PER_COOLDOWN, previous))


async def latest_chains(
    session: AsyncSession, planning: Planning, contact_ids: Collection[int]
) -> dict[int, Chain]:
    """Each contact's most recent recovery chain, for a set of contacts in one query, as
    read-only `from_row` objects (changes go through `_move_chains`)."""
    if session.dirty:
        await session.flush()  # chains changed through the session are read as they are now
    parameters = {"contacts": list(contact_ids), "flows": recovery_flows(planning.flows)}
    rows = await session.execute(_LATEST, parameters)
    latest: dict[int, Chain] = {}
    for row in rows.mappings():
        if row["contact_id"] not in latest:
            latest[row["contact_id"]] = from_row(Chain, row)
    return latest


async def _move_chains(session: AsyncSession, moved: Sequence[Chain]) -> None:
    """Write the new checkout and anchor of read-only chains, and keep any session object
    of the same chain in step (so a later flush cannot write the old values back)."""
    if not moved:
        return
    rows = [{"chain": c.id, "checkout": c.checkout_id, "anchor": c.anchor_at} for c in moved]
    await session.execute(_MOVE_CHAIN, rows)
    identity = session.sync_session.identity_map
    for chain in moved:
        loaded = identity.get(session.identity_key(Chain, chain.id))
        if loaded is not None:
            set_committed_value(loaded, "checkout_id", chain.checkout_id)
            set_committed_value(loaded, "anchor_at", chain.anchor_at)


def _is_payment(planning: Planning, chain: Chain) -> bool:
    flow = planning.flows.flows.get(chain.flow)
    return flow is not None and flow.is_payment


async def on_checkouts(
    session: AsyncSession, planning: Planning, items: Sequence[AppliedEvent]
) -> None:
    """checkout.updated events, at most one per contact (the caller keeps that order)."""
    if not items:
        return
    ids = list({item.checkout_id for item in items})
    result = await session.execute(_CHECKOUTS, {"ids": ids})
    checkouts = {row["id"]: from_row(Checkout, row) for row in result.mappings()}
    latest = await latest_chains(session, planning, {item.contact_id for item in items})
    flows = planning.flows
    starts: list[NewChain] = []
    superseded: list[AppliedEvent] = []
    active: list[Activity] = []
    moved: list[Chain] = []
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
            if recent.status == "active" and _is_payment(planning, recent):
                continue  # payment reminders keep their own timing (R-FL2)
            if recent.status != "active":
                skipped_for_cooldown(session, recent, checkout, now)
                continue
            if recent.checkout_id != checkout.id or anchor > recent.anchor_at:
                moved.append(recent)
            if recent.checkout_id != checkout.id:
                recent.checkout_id = checkout.id
                merged = {"checkout": checkout.external_id}
                audit(session, **audit_row(recent, now, "merged", reasons.CARTS_MERGED, merged))
            if anchor > recent.anchor_at:
                recent.anchor_at = anchor
            active.append(Activity(recent, flow, anchor, now))
            continue
        if recent is not None and recent.status in ("active", "paused"):
            superseded.append(item)
        first = flow.steps[0]
        due = anchor + planning.delay(first)
        starts.append(
            NewChain(
                item.contact_id, checkout, checkout.id, flow, anchor, now, [(first, due, None)]
            )
        )
    await _move_chains(session, moved)
    for item in superseded:  # before the new chain exists, which must stay active
        await stop_chains(session, item.contact_id, reasons.SUPERSEDED, item.received_at)
    await start_chains(session, planning, starts)
    await move_or_rearm(session, planning, active, checkouts)
