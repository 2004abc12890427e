"""What an operator sees: only what they need (R-OP2) — first name, masked phone, one item,
total, stage, the last messages. Never a full phone number or address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.logmask import mask_phone
from bot.store.models import Checkout, Contact, Conversation, Message, Operator
from handoff.queue import OPERATOR_STATES, REASONS

LAST_MESSAGES = 30


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _message(row: Message) -> dict[str, Any]:
    buttons = (row.buttons or {}).get("items") or []
    return {
        "id": row.id,
        "direction": row.direction,
        "channel": row.channel,
        "text": row.text,
        "buttons": [b.get("title", "") for b in buttons],
        "author": row.author if row.direction == "out" else "shopper",
        "intent": row.intent,
        "status": row.status,
        "at": _iso(row.created_at),
    }


async def _checkout(session: AsyncSession, contact_id: int) -> dict[str, Any] | None:
    row = (
        await session.scalars(
            select(Checkout)
            .where(Checkout.contact_id == contact_id)
            .order_by((Checkout.status == "open").desc(), Checkout.last_activity_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return {
        "item": row.top_item,
        "item_count": row.item_count,
        "total": str(row.total) if row.total is not None else None,
        "currency": row.currency,
        "stage": row.stage,
        "status": row.status,
        "failed_payments": row.failed_payments,
    }


def _summary(
    conversation: Conversation, contact: Contact, now: datetime, operator: str | None
) -> dict[str, Any]:
    since = conversation.escalated_at
    return {
        "contact_id": contact.id,
        "first_name": contact.first_name or "",
        "phone": mask_phone(contact.phone) if contact.phone else None,
        "channel": conversation.last_channel,
        "state": conversation.state,
        "reason": conversation.handoff_reason,
        "reason_text": REASONS.get(conversation.handoff_reason or "", conversation.handoff_reason),
        "escalated_at": _iso(since),
        "waiting_seconds": int((now - since).total_seconds()) if since else None,
        "operator": operator,
        "last_inbound_at": _iso(conversation.last_inbound_at),
    }


async def queue(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Chats with (or waiting for) an operator, longest waiting first."""
    rows = (
        await session.execute(
            select(Conversation, Contact, Operator.username)
            .join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(Operator, Operator.id == Conversation.operator_id)
            .where(Conversation.state.in_(OPERATOR_STATES))
            .order_by(Conversation.escalated_at)
        )
    ).all()
    out = []
    for conversation, contact, operator in rows:
        item = _summary(conversation, contact, now, operator)
        item["checkout"] = await _checkout(session, contact.id)
        last = (
            await session.scalars(
                select(Message)
                .where(Message.contact_id == contact.id)
                .order_by(desc(Message.id))
                .limit(1)
            )
        ).first()
        item["last_message"] = _message(last) if last else None
        out.append(item)
    return out


async def detail(session: AsyncSession, contact_id: int, now: datetime) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(Conversation, Contact, Operator.username)
            .join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(Operator, Operator.id == Conversation.operator_id)
            .where(Conversation.contact_id == contact_id)
        )
    ).first()
    if row is None:
        return None
    conversation, contact, operator = row
    item = _summary(conversation, contact, now, operator)
    item["checkout"] = await _checkout(session, contact_id)
    messages = (
        await session.scalars(
            select(Message)
            .where(Message.contact_id == contact_id)
            .order_by(desc(Message.id))
            .limit(LAST_MESSAGES)
        )
    ).all()
    item["messages"] = [_message(m) for m in reversed(messages)]
    return item


async def version(session: AsyncSession) -> str:
    """Changes whenever a message arrives or leaves or a conversation changes hands."""
    last_message = await session.scalar(select(func.max(Message.id)))
    changed, count = (
        await session.execute(
            select(func.max(Conversation.updated_at), func.count(Conversation.id))
        )
    ).one()
    return f"{last_message or 0}:{changed or '-'}:{count}"
