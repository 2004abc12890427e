"""Start-up: touches left `sending` by a dead process become `unknown` (never re-sent, R-SR9);
touches a dead process had only claimed go back to `planned` (nothing was sent for them).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from sqlalchemy import or_, select, update

from bot.audit import audit
from bot.store.db import SessionFactory
from bot.store.models import Touch
from bot.touches.firing import LEASE

log = logging.getLogger(__name__)


def _dead(claimer: str | None) -> bool:
    """A claimer id `host:pid:nonce` from this host whose process is gone, or no claimer."""
    if not claimer:
        return True
    host, _, rest = claimer.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def recover(sessions: SessionFactory, now: datetime, instance: str) -> tuple[int, int]:
    """Return (claims released, sends flagged unknown)."""
    stale_before = datetime.now(UTC) - LEASE
    async with sessions.begin() as session:
        rows = (
            await session.execute(
                select(
                    Touch.id, Touch.status, Touch.claimed_by, Touch.claimed_at, Touch.contact_id
                ).where(Touch.status.in_(("claimed", "sending")))
            )
        ).all()
        released: list[int] = []
        unknown: list[int] = []
        contact_of: dict[int, int] = {}
        for touch_id, status, claimer, claimed_at, contact_id in rows:
            contact_of[touch_id] = contact_id
            if claimer == instance:
                continue
            if not (_dead(claimer) or (claimed_at is not None and claimed_at < stale_before)):
                continue
            (released if status == "claimed" else unknown).append(touch_id)
        if released:
            await session.execute(
                update(Touch)
                .where(Touch.id.in_(released), Touch.status == "claimed")
                .values(status="planned", claimed_by=None, claimed_at=None)
            )
        if unknown:
            await session.execute(
                update(Touch)
                .where(Touch.id.in_(unknown), or_(Touch.status == "sending"))
                .values(status="unknown", rule="R-SR9 outcome unknown after restart")
            )
            for touch_id in unknown:
                audit(
                    session,
                    at=now,
                    action="unknown",
                    contact_id=contact_of[touch_id],
                    touch_id=touch_id,
                    rule="R-SR9 outcome unknown after restart",
                    detail={"flagged": True},
                )
    if released or unknown:
        log.warning(
            "start-up: %d claimed touches released, %d sends flagged unknown",
            len(released),
            len(unknown),
        )
    return len(released), len(unknown)
