"""Seeds chains, touches, messages, payments and conversations with known report outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.phones import country_of
from bot.store.db import SessionFactory
from bot.store.models import Chain, Checkout, Contact, Conversation, Message, Touch
from tests.factory import checkout_row, contact_row

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
_ids = count(1)


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def at(h: float) -> datetime:
    return T0 + hours(h)


async def chain_of_c1(session: AsyncSession, variant: str, anchor_at: datetime) -> Chain:
    """A payment chain, as the planner makes it, for contact c1 and checkout k1 (which the
    events API created)."""
    contact = await session.scalar(select(Contact).where(Contact.external_id == "c1"))
    checkout = await session.scalar(select(Checkout).where(Checkout.external_id == "k1"))
    assert contact is not None and checkout is not None
    chain = Chain(
        contact_id=contact.id,
        checkout_id=checkout.id,
        flow="payment",
        variant=variant,
        anchor_at=anchor_at,
        started_at=anchor_at,
    )
    session.add(chain)
    await session.flush()
    return chain


@dataclass
class TouchSpec:
    step: str
    at: float  # hours after T0
    variant: str | None = None
    status: str | None = "delivered"  # status of its outbound message; None = no message
    sent: bool = True


@dataclass
class ChainSpec:
    flow: str
    variant: str | None
    touches: list[TouchSpec]
    paid_at: float | None = None  # hours after T0
    total: Decimal = Decimal("1000.00")
    currency: str = "RUB"
    stop_reason: str | None = None
    stopped_at: float | None = None
    replies: list[tuple[float, str | None]] = field(default_factory=list)  # (hours, intent)
    escalated_at: float | None = None
    answer_after_s: float | None = None
    resolved_by: str | None = None
    shop: str = "default"
    holdout: bool = False
    phone: str | None = None


async def add_chain(session: AsyncSession, spec: ChainSpec) -> int:
    n = next(_ids)
    contact = contact_row(
        f"c{n}",
        shop=spec.shop,
        phone=spec.phone or f"+7916{n:07d}",
        first_name=None,
        created_at=T0 - hours(48),
        updated_at=T0,
    )
    session.add(contact)
    await session.flush()
    paid = spec.paid_at is not None
    checkout = checkout_row(
        contact.id,
        f"k{n}",
        status="paid" if paid else "open",
        top_item=None,
        item_count=1,
        total=spec.total,
        currency=spec.currency,
        resume_url=None,
        paid_at=at(spec.paid_at) if spec.paid_at is not None else None,
        last_activity_at=T0 - hours(1),
        created_at=T0 - hours(2),
        updated_at=T0,
    )
    session.add(checkout)
    await session.flush()
    chain = Chain(
        contact_id=contact.id,
        checkout_id=checkout.id,
        flow=spec.flow,
        variant=spec.variant,
        status="stopped" if spec.stop_reason else "active",
        holdout=spec.holdout,
        stop_reason=spec.stop_reason,
        anchor_at=T0 - hours(1),
        started_at=T0 - hours(1),
        stopped_at=at(spec.stopped_at) if spec.stopped_at is not None else None,
    )
    session.add(chain)
    await session.flush()
    for t in spec.touches:
        touch = Touch(
            chain_id=chain.id,
            contact_id=contact.id,
            flow=spec.flow,
            step=t.step,
            variant=t.variant if t.variant is not None else spec.variant,
            channel="whatsapp",
            country=country_of(contact.phone),
            due_at=at(t.at),
            status="sent" if t.sent else "planned",
            sent_at=at(t.at) if t.sent else None,
            created_at=T0 - hours(1),
        )
        session.add(touch)
        await session.flush()
        if t.sent and t.status is not None:
            message = Message(
                contact_id=contact.id,
                direction="out",
                channel="whatsapp",
                text="hello",
                touch_id=touch.id,
                author="bot",
                status=t.status,
                created_at=at(t.at),
                status_at=at(t.at + 0.1),
            )
            session.add(message)
            await session.flush()
            touch.message_id = message.id
    for reply_at, intent in spec.replies:
        session.add(
            Message(
                contact_id=contact.id,
                direction="in",
                channel="whatsapp",
                text="reply",
                intent=intent,
                status="received",
                created_at=at(reply_at),
            )
        )
    if spec.replies or spec.escalated_at is not None:
        escalated = at(spec.escalated_at) if spec.escalated_at is not None else None
        answered = (
            escalated + timedelta(seconds=spec.answer_after_s)
            if escalated is not None and spec.answer_after_s is not None
            else None
        )
        session.add(
            Conversation(
                contact_id=contact.id,
                state="bot",
                last_inbound_at=at(max(h for h, _ in spec.replies)) if spec.replies else None,
                escalated_at=escalated,
                first_operator_reply_at=answered,
                resolved_by=spec.resolved_by,
                updated_at=T0,
            )
        )
    return int(chain.id)


async def seed(sessions: SessionFactory, specs: list[ChainSpec]) -> None:
    async with sessions.begin() as session:
        for spec in specs:
            await add_chain(session, spec)


def one(flow: str, step: str, variant: str | None, **kw: object) -> ChainSpec:
    status = kw.pop("status", "delivered")
    return ChainSpec(flow, variant, [TouchSpec(step, 0, status=status)], **kw)  # type: ignore[arg-type]
