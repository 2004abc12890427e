"""The stored webhooks' processing state: claims with a lease, retries with backoff, dead letters.

Times here are wall-clock UTC, never the sandbox clock: retries are infrastructure and must
happen while a designer's clock stands still. A row is claimable when it is neither processed
nor dead and its `next_attempt_at` (the lease of its holder, or the backoff of its last
failure) has passed; the claim is one UPDATE … RETURNING that repeats those conditions, so of
two instances racing for a row only one gets it (PostgreSQL re-checks them on the locked row).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.models import InboundWebhook
from bot.store.write_lock import write_lock

W = InboundWebhook


def instance_name() -> str:
    """Unique per process start, also for a container restarted with the same PID."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def wall_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    lease_seconds: float = 60.0

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: doubling, capped."""
        return float(min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))


class Ledger:
    """One instance's view of the inbound_webhooks processing columns."""

    def __init__(self, engine: AsyncEngine, policy: RetryPolicy, owner: str | None = None):
        self.engine = engine
        self.policy = policy
        self.owner = owner or instance_name()

    def lease_end(self, now: datetime | None = None) -> datetime:
        return (now or wall_now()) + timedelta(seconds=self.policy.lease_seconds)

    async def claim(self, limit: int = 500, *, unclaimed: bool = False) -> list[Claimed]:
        """Take up to `limit` due rows for this instance, oldest first. `unclaimed` also takes
        rows no instance ever claimed (stored before this schema, or by a bare `store`)."""
        now = wall_now()
        due = W.next_attempt_at <= now
        if unclaimed:
            due = or_(due, W.next_attempt_at.is_(None))
        condition = and_(W.processed_at.is_(None), W.dead_at.is_(None), due)
        async with self.engine.connect() as connection:  # a cheap read first: mostly nothing
            found = await connection.scalar(select(W.id).where(condition).limit(1))
        if found is None:
            return []
        ids = select(W.id).where(condition).order_by(W.id).limit(limit).scalar_subquery()
        statement = (
            update(W)
            .where(W.id.in_(ids), condition)
            .values(claimed_by=self.owner, next_attempt_at=self.lease_end(now))
            .returning(W.id, W.payload, W.attempts)
        )
        async with write_lock(self.engine), self.engine.begin() as connection:
            rows = (await connection.execute(statement)).all()
        return sorted(
            (Claimed(int(r[0]), r[1], int(r[2] or 0)) for r in rows), key=lambda c: c.row_id
        )

    async def renew(self, ids: Sequence[int]) -> None:
        """Extend the lease of rows this instance is still working on."""
        if not ids:
            return
        statement = (
            update(W)
            .where(W.id.in_(list(ids)), W.claimed_by == self.owner, W.processed_at.is_(None))
            .values(next_attempt_at=self.lease_end())
        )
        async with write_lock(self.engine), self.engine.begin() as connection:
            await connection.execute(statement)

    async def failed(self, row_id: int, attempts: int, error: str) -> bool:
        """Count a failed attempt: retry after the backoff, or a dead letter after the last one
        (True then). `attempts` is how many had failed before this one."""
        now = wall_now()
        done = attempts + 1
        values: dict[str, Any] = {"attempts": done, "error": error[:300], "claimed_by": None}
        dead = done >= self.policy.max_attempts
        if dead:
            values["dead_at"] = now
        else:
            values["next_attempt_at"] = now + timedelta(seconds=self.policy.backoff(done))
        statement = (
            update(W).where(W.id == row_id, W.processed_at.is_(None), W.dead_at.is_(None))
        ).values(**values)
        async with write_lock(self.engine), self.engine.begin() as connection:
            await connection.execute(statement)
        return dead

    async def dead_count(self) -> int:
        async with self.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(W).where(W.dead_at.is_not(None))
            )
        return int(count or 0)

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters, without the payload (it may hold a phone number)."""
        statement = (
            select(W.id, W.channel, W.received_at, W.dead_at, W.attempts, W.error)
            .where(W.dead_at.is_not(None))
            .order_by(W.dead_at.desc(), W.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [
            {
                "id": int(r.id),
                "channel": r.channel,
                "received_at": _iso(r.received_at),
                "dead_at": _iso(r.dead_at),
                "attempts": int(r.attempts or 0),
                "error": r.error or "",
            }
            for r in rows
        ]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
