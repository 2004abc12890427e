"""The sweeper every instance runs, at start-up and every heartbeat (R-SR9): touches that a
silent instance had only claimed go back to `planned` (nothing was sent for them); `sending`
touches whose sender went silent, or that have been `sending` longer than any send can take,
become `unknown` (flagged, never re-sent), each with an audit entry. A live instance's claims
are never taken, however old.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.pacing import LONGEST_WAIT
from bot.outbound import Outbound
from bot.settings import Settings
from bot.store.bulk import insert_rows
from bot.store.db import SessionFactory
from bot.store.models import AuditEntry, Touch
from bot.store.write_lock import write_lock_for
from bot.touches import reasons
from bot.touches.liveness import Heartbeat

log = logging.getLogger(__name__)

ATTEMPTS = 4  # a provider client's attempts per send (bot/channels)

_TOUCHES = cast(Table, Touch.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_HELD = (
    select(_TOUCHES.c.claimed_by, _TOUCHES.c.status, func.min(_TOUCHES.c.claimed_at))
    .where(_TOUCHES.c.status.in_(("claimed", "sending")))
    .group_by(_TOUCHES.c.claimed_by, _TOUCHES.c.status)
)


def send_deadline(settings: Settings) -> timedelta:
    """Longer than any send can take: every attempt timing out and every wait between them at
    its longest, twice (an SMS fallback follows a WhatsApp send in the same chunk)."""
    timeout = float(settings.send_timeout_seconds)
    one_send = ATTEMPTS * timeout + (ATTEMPTS - 1) * LONGEST_WAIT
    return timedelta(seconds=2 * one_send + timeout)


@dataclass(frozen=True)
class Swept:
    released: int = 0  # claims back to `planned`
    unknown: int = 0  # sends flagged `unknown`


class Sweeper:
    """Takes over what silent instances left and flags sends that never got an outcome."""

    def __init__(
        self,
        sessions: SessionFactory,
        heartbeat: Heartbeat,
        deadline: timedelta,
        outbound: Outbound | None = None,
    ) -> None:
        self.sessions = sessions
        self.heartbeat = heartbeat
        self.deadline = deadline
        self.outbound = outbound

    def _write(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return write_lock_for(self.sessions)

    async def sweep(self, now: datetime) -> Swept:
        """One pass; `now` (the service clock) dates the audit entries; liveness (see
        Heartbeat) and the send deadline never read the sandbox clock."""
        swept = await self._touches(now)
        if self.outbound is not None:
            # Sends outside firing (replies, operators) have no claimer: their age decides.
            flagged = await self.outbound.flag_interrupted(older_than=self.deadline)
            if flagged:
                log.warning("%d sends without an outcome in time: flagged unknown", flagged)
        return swept

    async def _touches(self, now: datetime) -> Swept:
        async with self.sessions() as session:  # a plain read: most passes find nothing to do
            held = (await session.execute(_HELD)).all()
        if not held:
            return Swept()
        gone = await self.heartbeat.gone(claimer for claimer, _, _ in held)
        late_before = datetime.now(UTC) - self.deadline
        late = any(s == "sending" and t is not None and t < late_before for _, s, t in held)
        if not gone and not late:
            return Swept()
        async with self._write(), self.sessions.begin() as session:
            released = await self._release(session, gone)
            unknown, message_ids = await self._flag(session, gone, late_before, now)
        if released or unknown:
            log.warning(
                "sweeper: %d claims of silent instances released, %d sends flagged unknown",
                released,
                unknown,
            )
        if message_ids and self.outbound is not None:
            await self.outbound.flag_interrupted(message_ids=message_ids)
        return Swept(released, unknown)

    @staticmethod
    def _owned_by(gone: set[str | None]) -> Any:
        names = [c for c in gone if c is not None]
        held_by = [_TOUCHES.c.claimed_by.in_(names)] if names else []
        if None in gone:
            held_by.append(_TOUCHES.c.claimed_by.is_(None))
        return or_(*held_by)

    async def _release(self, session: AsyncSession, gone: set[str | None]) -> int:
        if not gone:
            return 0
        result = await session.execute(
            update(_TOUCHES)
            .where(_TOUCHES.c.status == "claimed", self._owned_by(gone))
            .values(status="planned", claimed_by=None, claimed_at=None)
            .returning(_TOUCHES.c.id)
        )
        return len(result.all())

    async def _flag(
        self, session: AsyncSession, gone: set[str | None], late_before: datetime, now: datetime
    ) -> tuple[int, list[int]]:
        """`sending` touches of silent instances, then those past the deadline: `unknown`;
        how many, and the ids of their message rows."""
        late = _TOUCHES.c.claimed_at < late_before
        entries: list[dict[str, Any]] = []
        message_ids: list[int] = []
        silent = self._owned_by(gone) if gone else None
        for rule, which in ((reasons.SENDER_SILENT, silent), (reasons.NO_OUTCOME_IN_TIME, late)):
            if which is None:
                continue
            rows = (
                await session.execute(
                    update(_TOUCHES)
                    .where(_TOUCHES.c.status == "sending", which)
                    .values(status="unknown", rule=rule, claimed_by=None)
                    .returning(
                        _TOUCHES.c.id,
                        _TOUCHES.c.contact_id,
                        _TOUCHES.c.chain_id,
                        _TOUCHES.c.step,
                        _TOUCHES.c.message_id,
                    )
                )
            ).all()
            for touch_id, contact_id, chain_id, step, message_id in rows:
                entries.append(
                    {
                        "action": "unknown",
                        "contact_id": contact_id,
                        "chain_id": chain_id,
                        "touch_id": touch_id,
                        "rule": rule,
                        "detail": {"step": step, "message_id": message_id, "flagged": True},
                    }
                )
                if message_id is not None:
                    message_ids.append(int(message_id))
        await insert_rows(session, _AUDIT, entries, same={"at": now})
        return len(entries), message_ids


async def recover(
    sessions: SessionFactory,
    now: datetime,
    instance: str,
    *,
    silent_after: timedelta = timedelta(seconds=30),
    deadline: timedelta = timedelta(minutes=5),
) -> tuple[int, int]:
    """One sweep as `instance` (start-up, tests); (claims released, sends flagged unknown)."""
    sweeper = Sweeper(sessions, Heartbeat(sessions, instance, silent_after), deadline)
    swept = await sweeper.sweep(now)
    return swept.released, swept.unknown
