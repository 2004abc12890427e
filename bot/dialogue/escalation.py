"""Handing a chat to an operator from a reply: the queue entry and the shopper's notice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutboundMessage
from bot.dialogue.context import ReplyContext, operator_hours_open, operator_hours_text
from bot.touches.control import stop_chains
from handoff.queue import escalate


async def hand_off(
    session: AsyncSession, ctx: ReplyContext, reason: str, detail: dict[str, object]
) -> list[OutboundMessage]:
    """Escalate and tell the shopper a person will answer (and when, after hours), in the
    words the designers chose for `reason`."""
    await escalate(session, ctx.contact.id, reason, ctx.now, dict(detail), stop_chains=stop_chains)
    in_hours, after_hours = ctx.book.handoff_texts(reason)
    if operator_hours_open(ctx.book.shop, ctx.now):
        return [ctx.message(in_hours)]
    return [ctx.message(after_hours, hours=operator_hours_text(ctx.book.shop))]
