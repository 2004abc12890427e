"""Stop and pause recovery chains from outside the scheduler (dialogue, opt-out, payment).

Both functions only add to the caller's transaction; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit, audit_row
from bot.store.models import Chain, Touch
from bot.touches import reasons

# Touch states that have not reached the provider yet and may still be cancelled.
PENDING = ("planned", "deferred")


async def _cancel(
    session: AsyncSession,
    contact_id: int,
    reason: str,
    now: datetime,
    chain_status: Literal["paused", "stopped"],
    rule: str,
) -> None:
    """Cancel the pending touches of the contact's chains and give the chains `chain_status`:
    "paused" touches only the active chain, "stopped" the paused ones as well."""
    statuses = ("active",) if chain_status == "paused" else ("active", "paused")
    chains = (
        await session.scalars(
            select(Chain).where(Chain.contact_id == contact_id, Chain.status.in_(statuses))
        )
    ).all()
    for chain in chains:
        touches = (
            await session.scalars(
                select(Touch).where(Touch.chain_id == chain.id, Touch.status.in_(PENDING))
            )
        ).all()
        for touch in touches:
            cancelled = {"reason": reason, "step": touch.step}
            audit(session, touch_id=touch.id, **audit_row(chain, now, "cancelled", rule, cancelled))
        await session.execute(
            update(Touch)
            .where(Touch.chain_id == chain.id, Touch.status.in_(PENDING))
            .values(status="cancelled", rule=rule)
            .execution_options(synchronize_session=False)
        )
        chain.status = chain_status
        chain.stop_reason = reason
        if chain_status == "stopped":
            chain.stopped_at = now
        ended = {"reason": reason, "flow": chain.flow}
        audit(session, **audit_row(chain, now, chain_status, rule, ended))


async def pause_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    """The shopper replied: cancel pending touches of the active chain, chain becomes "paused"."""
    await _cancel(session, contact_id, reason, now, "paused", reasons.STOP_ON_REPLY)


async def stop_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    """Opt-out / negative / handoff / paid: cancel every pending touch, chains "stopped"."""
    await _cancel(session, contact_id, reason, now, "stopped", reasons.stop_on(reason))
