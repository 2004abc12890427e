"""The operators' queue: escalating a chat, claiming it, giving it back (R-RP4, R-OP1).

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.store.dialect import insert_for
from bot.store.models import Conversation

log = logging.getLogger(__name__)

# Stops the contact's recovery chains in the caller's transaction (bot.touches.control).
StopChains = Callable[[AsyncSession, int, str, datetime], Awaitable[None]]

# The states a conversation moves through; the bot speaks only in "bot".
STATES = ("bot", "waiting_operator", "operator", "closed")
OPERATOR_STATES = ("waiting_operator", "operator")

# Why a chat went to a person (R-RP4); any other reason string is accepted too.
REASONS = {
    "money_charged_no_order": "money charged, no order",
    "delivery_dispute": "delivery dispute",
    "returns": "return or refund",
    "human_requested": "asked for a person",
    "product_question": "question about the item",
    "misunderstood_twice": "two messages not understood",
    "nlu_unavailable": "NLU unavailable",
    "manual_review": "5+ failed payments",
}


async def ensure_conversation(session: AsyncSession, contact_id: int, now: datetime) -> None:
    """Create the contact's conversation row if missing; safe when two processes race."""
    insert = insert_for(session)
    await session.execute(
        insert(cast(Table, Conversation.__table__))
        .values(contact_id=contact_id, state="bot", misunderstood=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["contact_id"])
    )


async def conversation_for(
    session: AsyncSession, contact_id: int, now: datetime, *, lock: bool = False
) -> Conversation:
    """The contact's conversation row, created in state "bot" when missing."""
    statement = select(Conversation).where(Conversation.contact_id == contact_id)
    if lock:
        statement = statement.with_for_update()
    found = await session.scalar(statement)
    if found is not None:
        return found
    row = Conversation(contact_id=contact_id, state="bot", misunderstood=0, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def escalate(
    session: AsyncSession,
    contact_id: int,
    reason: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    *,
    stop_chains: StopChains,
) -> None:
    """Hand the chat to an operator: the touches stop and the bot falls silent (R-RP4).

    A chat already with an operator keeps its first reason and waiting time.
    """
    conversation = await conversation_for(session, contact_id, now, lock=True)
    await stop_chains(session, contact_id, "handoff", now)
    if conversation.state in OPERATOR_STATES:
        audit(
            session,
            at=now,
            action="escalated",
            contact_id=contact_id,
            rule=f"R-RP4 {reason} (already with an operator)",
            detail=detail,
        )
        return
    conversation.state = "waiting_operator"
    conversation.handoff_reason = reason[:64]
    conversation.escalated_at = now
    conversation.operator_id = None
    conversation.claimed_at = None
    conversation.first_operator_reply_at = None
    conversation.resolved_by = None
    conversation.misunderstood = 0
    conversation.updated_at = now
    audit(
        session,
        at=now,
        action="escalated",
        contact_id=contact_id,
        rule=f"R-RP4 {reason}",
        detail=detail,
    )
    log.info("conversation %s escalated: %s", conversation.id, reason)


async def claim(
    session: AsyncSession, contact_id: int, operator_id: int, now: datetime
) -> Conversation:
    """An operator takes a waiting chat (or one another operator holds)."""
    conversation = await conversation_for(session, contact_id, now, lock=True)
    if conversation.state not in OPERATOR_STATES:
        raise QueueError(f"conversation is {conversation.state}, not waiting for an operator")
    conversation.state = "operator"
    conversation.operator_id = operator_id
    conversation.claimed_at = now
    conversation.updated_at = now
    audit(
        session,
        at=now,
        action="claimed",
        contact_id=contact_id,
        rule="R-OP1 claim",
        detail={"operator_id": operator_id},
    )
    return conversation


async def release(
    session: AsyncSession, contact_id: int, operator_id: int | None, to: str, now: datetime
) -> Conversation:
    """Give the chat back to the bot (`to="bot"`) or close it (`to="closed"`)."""
    if to not in ("bot", "closed"):
        raise QueueError("a chat goes back to the bot or is closed")
    conversation = await conversation_for(session, contact_id, now, lock=True)
    conversation.state = to
    conversation.misunderstood = 0
    conversation.resolved_by = "operator" if conversation.escalated_at else "bot"
    conversation.updated_at = now
    audit(
        session,
        at=now,
        action="returned_to_bot" if to == "bot" else "closed",
        contact_id=contact_id,
        rule="R-OP1",
        detail={"operator_id": operator_id},
    )
    return conversation


class QueueError(ValueError):
    """A queue action that does not fit the conversation's state."""
