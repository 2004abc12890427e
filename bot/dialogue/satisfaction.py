"""Satisfaction (R-MX4): one 1–5 question when a conversation ends, once, inside the rules.

Asked when an operator closes a chat, and when the shopper thanks the bot after it helped
(answered about payment, delivery, a discount, the order's status, or gave the link back:
an answer the shopper accepted). The question goes out only where a touch could: on
the channel the shopper last wrote from, with an open consent for it, outside their quiet
hours (country rules included) and, on WhatsApp, inside the 24-hour window, since it is
free text with quick replies. Otherwise it is not asked at all (an audit entry says why):
asking hours later about a chat long over helps nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.channels.base import ChannelName
from bot.clock import Clock
from bot.dialogue.context import ReplyContext, current_checkout
from bot.outbound import Outbound
from bot.settings import Settings
from bot.store.db import SessionFactory
from bot.store.models import Consent, Contact, Conversation, Rating
from flows.replies import ReplyBook
from flows.rules import CountryRules, window_for

log = logging.getLogger(__name__)

QUESTION = "utter_csat_question"
RULE = "R-MX4 satisfaction"
PAYLOAD_PREFIX = "csat_"
HELPED = "helped_at"  # conversation memory: when the bot first helped since it last asked
HELPFUL = ("payment_help", "delivery_info", "discount_check", "resume", "order_status")
WHATSAPP_WINDOW = timedelta(hours=24)
ANSWER_WITHIN = timedelta(days=7)  # a digit days later answers something else


def score_of(payload: str | None) -> int | None:
    """1–5 from a quick-reply payload `csat_N`; None for anything else."""
    if not payload or not payload.startswith(PAYLOAD_PREFIX):
        return None
    digit = payload.removeprefix(PAYLOAD_PREFIX)
    return int(digit) if digit in ("1", "2", "3", "4", "5") else None


async def record_answer(
    session: AsyncSession, contact_id: int, score: int, now: datetime
) -> Rating | None:
    """The contact's latest open question gets its score; None when none is open (a late or
    a second answer changes nothing)."""
    rating = await session.scalar(
        select(Rating)
        .where(
            Rating.contact_id == contact_id,
            Rating.score.is_(None),
            Rating.asked_at >= now - ANSWER_WITHIN,
        )
        .order_by(Rating.asked_at.desc(), Rating.id.desc())
        .limit(1)
    )
    if rating is None:
        return None
    rating.score, rating.answered_at = score, now
    audit(
        session,
        at=now,
        action="rated",
        contact_id=contact_id,
        rule=RULE,
        detail={"score": score, "by": rating.by, "operator_id": rating.operator_id},
    )
    return rating


@dataclass(eq=False)
class Satisfaction:
    """Asks the question; composed in bot/dialogue/setup.py with what it needs."""

    sessions: SessionFactory
    clock: Clock
    settings: Settings
    outbound: Callable[[], Outbound]
    book: Callable[[], ReplyBook]
    rules: Callable[[], CountryRules]

    async def after_close(self, contact_id: int, operator_id: int | None) -> str:
        """Ask about the chat an operator just closed; what became of it (for the audit)."""
        return await self._ask(contact_id, operator_id, bot=False)

    async def after_bot_answer(self, contact_id: int) -> str:
        """The shopper thanked the bot: ask about its help, if it helped since last asked."""
        return await self._ask(contact_id, None, bot=True)

    async def _ask(self, contact_id: int, operator_id: int | None, *, bot: bool) -> str:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            contact = await session.get(Contact, contact_id)
            conversation = await session.scalar(
                select(Conversation).where(Conversation.contact_id == contact_id)
            )
            if contact is None or conversation is None:
                return "no conversation"
            if bot:
                memory = dict(conversation.memory or {})
                helped = memory.pop(HELPED, None)
                if not isinstance(helped, str):
                    return "the bot has not helped since it last asked"
                conversation.memory = memory  # asked or not, this help is settled
                episode = f"bot:{helped}"[:64]
            else:
                episode = (conversation.escalated_at or now).isoformat()[:64]
            why = await self._blocked(session, contact, conversation, episode, now)
            if why is not None:
                audit(
                    session,
                    at=now,
                    action="not_asked",
                    contact_id=contact_id,
                    rule=RULE,
                    detail={"why": why},
                )
                return why
            session.add(
                Rating(
                    contact_id=contact_id,
                    conversation_id=conversation.id,
                    episode=episode,
                    by="bot" if bot else "operator",
                    operator_id=operator_id,
                    asked_at=now,
                )
            )
            book = self.book()
            language = contact.language or self.settings.default_language
            checkout = await current_checkout(session, contact_id)
            ctx = ReplyContext(
                book, contact, checkout, language, self.settings.default_language, now
            )
            message = ctx.message(QUESTION)
            channel = cast(ChannelName, conversation.last_channel)
            audit(session, at=now, action="asked", contact_id=contact_id, rule=RULE)
        await self.outbound().send(contact, channel, message, author="bot")
        return "asked"

    async def _blocked(
        self,
        session: AsyncSession,
        contact: Contact,
        conversation: Conversation,
        episode: str,
        now: datetime,
    ) -> str | None:
        """Why the question may not go out now; None when it may."""
        asked = await session.scalar(
            select(Rating.id).where(
                Rating.conversation_id == conversation.id, Rating.episode == episode
            )
        )
        if asked is not None:
            return "already asked about this conversation"
        channel = conversation.last_channel
        if channel not in ("whatsapp", "sms", "telegram"):
            return "the shopper never wrote"
        consent = await session.scalar(
            select(Consent.id)
            .where(
                Consent.contact_id == contact.id,
                Consent.channel == channel,
                Consent.revoked_at.is_(None),
            )
            .limit(1)
        )
        if consent is None:
            return f"R-SR1 no consent for {channel}"
        last = conversation.last_inbound_at
        if channel == "whatsapp" and (last is None or now - last > WHATSAPP_WINDOW):
            return "R-SR6 outside the WhatsApp 24-hour window"
        window = window_for(
            self.rules(), contact.phone, contact.timezone, self.settings.default_timezone
        )
        allowed = window.next_allowed(now)
        if allowed is None:
            return "R-SR2 no hour allowed in every zone of the number"
        if allowed > now:
            return window.rule or "R-SR2 quiet hours"
        return None
