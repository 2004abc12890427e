"""Delivery statuses applied to messages: arriving twice or out of order, never moving back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import StatusUpdate
from bot.store.models import Message
from bot.store.write_lock import write_lock

# A status may replace only the ones listed: read never goes back to delivered, and a late
# `failed` does not undo a delivery (multi-device), while `delivered` after `failed` wins.
_REPLACES: dict[str, tuple[str, ...]] = {
    "sent": ("queued", "sending", "unknown"),
    "failed": ("queued", "sending", "unknown", "sent"),
    "delivered": ("queued", "sending", "unknown", "sent", "failed"),
    "read": ("queued", "sending", "unknown", "sent", "failed", "delivered"),
}


def _statement(status: StatusUpdate) -> Any:
    values: dict[str, object] = {"status": status.status, "status_at": status.at}
    if status.status == "failed":
        values["error_code"] = status.error_code
        values["error_reason"] = status.error_reason
    return (
        update(Message)
        .where(
            Message.channel == status.channel,
            Message.provider_message_id == status.provider_message_id,
            Message.direction == "out",
            Message.status.in_(_REPLACES[status.status]),
        )
        .values(**values)
        .returning(Message.id)
    )


async def apply_statuses(
    engine: AsyncEngine, statuses: Sequence[StatusUpdate]
) -> list[tuple[StatusUpdate, int]]:
    """Move each message forward, all in one transaction; the (status, message id) pairs that
    changed something (stale, repeated or unknown ones change nothing)."""
    changed: list[tuple[StatusUpdate, int]] = []
    if not statuses:
        return changed
    async with write_lock(engine), engine.begin() as connection:
        for status in statuses:
            row = (await connection.execute(_statement(status))).first()
            if row is not None:
                changed.append((status, int(row[0])))
    return changed
