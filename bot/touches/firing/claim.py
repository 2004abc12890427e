"""Claiming due touches for one instance: each row is taken by one claimer, and handed back
to `planned` when it cannot be sent."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.claims import claim_update
from bot.touches.firing.jobs import Due
from bot.touches.firing.writes import TOUCHES, Transactions

BATCH = 500  # touches one `claim` takes
LANE_BATCH = 256  # touches a lane claims and decides in one transaction

_CLAIMED = (
    TOUCHES.c.id,
    TOUCHES.c.chain_id,
    TOUCHES.c.contact_id,
    TOUCHES.c.flow,
    TOUCHES.c.step,
    TOUCHES.c.variant,
    TOUCHES.c.due_at,
)
# Planned and due by `:due_by`: what a tick looks for and what a claim takes.
_DUE = (
    TOUCHES.c.status == "planned",
    TOUCHES.c.due_at <= bindparam("due_by", type_=TOUCHES.c.due_at.type),
)
_ANY_DUE = select(TOUCHES.c.id).where(*_DUE).limit(1)


def instance_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Claims:
    """The claims of one instance (`instance`): what is due, taking it, giving it back."""

    def __init__(self, transactions: Transactions, instance: str) -> None:
        self.transactions = transactions
        self.instance = instance
        self._claim_ids = self._statement(BATCH, TOUCHES.c.id)
        self._claim_lane = self._statement(LANE_BATCH, *_CLAIMED)

    def _statement(self, limit: int, *columns: Any) -> Any:
        """UPDATE … SET status = 'claimed' RETURNING `columns` of up to `limit` touches due
        by `:due_by` (built once per instance: building it costs more than running it)."""
        due = select(TOUCHES.c.id).where(*_DUE).order_by(TOUCHES.c.due_at, TOUCHES.c.id)
        due = due.limit(limit)
        claim = claim_update(self.transactions.engine, TOUCHES, due, TOUCHES.c.status == "planned")
        claim = claim.values(
            status="claimed",
            claimed_by=bindparam("claimer", type_=TOUCHES.c.claimed_by.type),
            claimed_at=bindparam("taken", type_=TOUCHES.c.claimed_at.type),
        )
        return claim.returning(*columns)

    def _params(self, now: datetime) -> dict[str, Any]:
        return {"due_by": now, "claimer": self.instance, "taken": datetime.now(UTC)}

    async def anything_due(self, now: datetime) -> bool:
        """A plain read first: most ticks find nothing due, and the claim is a write (on
        SQLite it would hold the one write lock that webhook acknowledgements wait for)."""
        async with self.transactions.sessions() as session:
            found = await session.scalar(_ANY_DUE, {"due_by": now})
        return found is not None

    async def claim(self, now: datetime) -> list[int]:
        """Claim up to BATCH due touches in a transaction of their own; their ids."""
        async with self.transactions.write(), self.transactions.sessions.begin() as session:
            result = await session.execute(self._claim_ids, self._params(now))
            return [int(i) for i in result.scalars().all()]

    async def claim_lane(self, session: AsyncSession, now: datetime) -> list[Due]:
        """Up to LANE_BATCH due touches claimed in the caller's transaction, oldest first."""
        claimed: list[Row[Any]] = list(
            (await session.execute(self._claim_lane, self._params(now))).all()
        )
        rows = sorted(claimed, key=lambda r: (r.due_at, r.id))  # RETURNING: no order
        return [Due(r.id, r.chain_id, r.contact_id, r.flow, r.step, r.variant) for r in rows]

    async def release(self, ids: list[int]) -> None:
        """Claimed touches back to `planned`, for the next tick (or another instance)."""
        with contextlib.suppress(Exception):
            async with self.transactions.write(), self.transactions.sessions.begin() as session:
                await session.execute(
                    update(TOUCHES)
                    .where(
                        TOUCHES.c.id.in_(ids),
                        TOUCHES.c.status == "claimed",
                        TOUCHES.c.claimed_by == self.instance,
                    )
                    .values(status="planned", claimed_by=None, claimed_at=None)
                )
