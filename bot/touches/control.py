"""Stop and pause recovery chains from outside the scheduler (dialogue, opt-out, payment).

Both functions only add to the caller's transaction; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.store.models import Chain, Touch
from bot.touches import reasons

# Touch states that have not reached the provider yet and may still be cancelled.
PENDING = ("planned", "deferred")


async def _cancel(
    session: AsyncSession,
    contact_id: int,
    reason: str,
    now: datetime,
    *,
    chain_status: str,
    rule: str,
    only_active: bool,
) -> None:
    statuses = ("active",) if only_active else ("active", "paused")
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
            audit(
                session,
                at=now,
                action="cancelled",
                contact_id=contact_id,
                chain_id=chain.id,
                touch_id=touch.id,
                rule=rule,
                detail={"reason": reason, "step": touch.step},
            )
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
        audit(
            session,
            at=now,
            action="paused" if chain_status == "paused" else "stopped",
            contact_id=contact_id,
            chain_id=chain.id,
            rule=rule,
            detail={"reason": reason, "flow": chain.flow},
        )


async def pause_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    """The shopper replied: cancel pending touches of the active chain, chain becomes "paused"."""
    await _cancel(
        session,
        contact_id,
        reason,
        now,
        chain_status="paused",
        rule=reasons.STOP_ON_REPLY,
        only_active=True,
    )


async def stop_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    """Opt-out / negative / handoff / paid: cancel every pending touch, chains "stopped"."""
    await _cancel(
        session,
        contact_id,
        reason,
        now,
        chain_status="stopped",
        rule=reasons.stop_on(reason),
        only_active=False,
    )
