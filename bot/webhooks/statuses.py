"""Delivery statuses applied to messages: arriving twice or out of order, never moving back."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import StatusUpdate
from bot.store.models import Message
from bot.webhooks.writer import write_lock

# A status may replace only the ones listed: read never goes back to delivered, and a late
# `failed` does not undo a delivery (multi-device), while `delivered` after `failed` wins.
_REPLACES: dict[str, tuple[str, ...]] = {
    "sent": ("queued", "sending", "unknown"),
    "failed": ("queued", "sending", "unknown", "sent"),
    "delivered": ("queued", "sending", "unknown", "sent", "failed"),
    "read": ("queued", "sending", "unknown", "sent", "failed", "delivered"),
}


async def apply_status(engine: AsyncEngine, status: StatusUpdate) -> int | None:
    """Move the message forward; the id of the message changed, or None (stale or unknown)."""
    values: dict[str, object] = {"status": status.status, "status_at": status.at}
    if status.status == "failed":
        values["error_code"] = status.error_code
        values["error_reason"] = status.error_reason
    statement = (
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
    async with write_lock(engine), engine.begin() as connection:
        row = (await connection.execute(statement)).first()
    return int(row[0]) if row is not None else None
