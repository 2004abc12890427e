"""The transactions of firing and the rows one of them writes in bulk."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import Metrics
from bot.store.bulk import insert_rows, plan_as_key_lookups, update_rows
from bot.store.db import SessionFactory
from bot.store.dialect import engine_of
from bot.store.models import AuditEntry, Chain, Contact, Touch
from bot.store.write_lock import write_lock_for
from bot.touches.firing.jobs import Due

TOUCHES = cast(Table, Touch.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_CHAINS = cast(Table, Chain.__table__)

# The columns each bulk UPDATE of touches sets (rows carry "id" and these).
_SETTLE = ("status", "message_id", "claimed_by", "rule", "channel")
_FINISH = ("status", "claimed_by", "rule")
_DEFER = ("status", "due_at", "claimed_by", "rule")
# a send the provider refused for longer than a send may wait: planned again, as never sent
_RESCHEDULE = ("due_at", "rule")
_RESCHEDULED = {
    "status": "planned",
    "claimed_by": None,
    "claimed_at": None,
    "sent_at": None,
    "message_id": None,
}
_STOP_CHAIN = ("status", "stop_reason", "stopped_at")
_AUDIT_KEYS = ("action", "contact_id", "chain_id", "touch_id", "rule", "detail")  # `at`: now


class Transactions:
    """Firing's transactions on one session factory; on SQLite each writing one queues
    behind this process's other writers (bot/store/write_lock.py)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.engine = engine_of(sessions)

    def write(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return write_lock_for(self.sessions)

    @contextlib.asynccontextmanager
    async def lookups(self) -> AsyncIterator[AsyncSession]:
        """A writing transaction of key lookups and bulk writes by key, planned as such."""
        async with self.write(), self.sessions.begin() as session:
            await plan_as_key_lookups(session)
            yield session


class Writes:
    """Rows of one transaction, written in bulk (plain rows: ORM objects cost more CPU than
    the send itself); everything it records happens at `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.settled: list[dict[str, Any]] = []
        self.finished: list[dict[str, Any]] = []
        self.deferred: list[dict[str, Any]] = []
        self.rescheduled: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []
        self.planned: list[dict[str, Any]] = []
        self.chains: dict[int, dict[str, Any]] = {}
        self.no_whatsapp: set[int] = set()  # contacts WhatsApp said have no account
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def entry(self, **fields: Any) -> None:
        """An audit entry, made at `now` like every write of this transaction."""
        self.audit.append({k: fields.get(k) for k in _AUDIT_KEYS})

    def touch_entry(self, touch: Due, action: str, rule: str, detail: dict[str, Any]) -> None:
        """The audit entry of what became of a touch, and its count for the metrics."""
        self.entry(
            action=action,
            contact_id=touch.contact_id,
            chain_id=touch.chain_id,
            touch_id=touch.id,
            rule=rule[:64],
            detail=detail,
        )
        self.counts[touch.flow, touch.step, action] += 1

    def finish(self, touch: Due, status: str, rule: str) -> None:
        """The touch ends `status` (skipped, cancelled) without being sent."""
        row = {"id": touch.id, "status": status, "claimed_by": None, "rule": rule[:64]}
        self.finished.append(row)
        self.touch_entry(touch, status, rule, {"step": touch.step})

    def stop(self, chain_id: int, reason: str, status: str = "stopped") -> None:
        row = {"id": chain_id, "status": status, "stop_reason": reason, "stopped_at": self.now}
        self.chains[chain_id] = row

    async def flush(self, session: AsyncSession, metrics: Metrics) -> None:
        for columns, rows in (
            (_SETTLE, self.settled),
            (_FINISH, self.finished),
            (_DEFER, self.deferred),
        ):
            await update_rows(session, TOUCHES, columns, rows)
        await update_rows(session, TOUCHES, _RESCHEDULE, self.rescheduled, same=_RESCHEDULED)
        await insert_rows(session, TOUCHES, self.planned)
        await insert_rows(session, _AUDIT, self.audit, same={"at": self.now})
        await update_rows(session, _CHAINS, _STOP_CHAIN, list(self.chains.values()))
        if self.no_whatsapp:
            await session.execute(
                update(Contact)
                .where(Contact.id.in_(self.no_whatsapp))
                .values(whatsapp_missing_at=self.now)
            )
        for (flow, step, outcome), n in self.counts.items():
            metrics.touches_total.labels(flow=flow, step=step, outcome=outcome).inc(n)
