"""One transaction per message: store it, route it, remember what the answer offered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.channels.base import InboundMessage, OutboundMessage
from bot.dialogue.context import ReplyContext, current_checkout
from bot.dialogue.pipeline import Step
from bot.dialogue.turn import Decision, Stored, Turn, Understood
from bot.store.db import SessionFactory
from bot.store.models import Message
from handoff.queue import conversation_for


def received_row(
    inbound: InboundMessage, contact_id: int, text: str, at: datetime, intent: str | None = None
) -> Message:
    """The stored row of a shopper's message (`text` already redacted)."""
    return Message(
        contact_id=contact_id,
        direction="in",
        channel=inbound.channel,
        address=inbound.address,
        text=text,
        intent=intent,
        provider_message_id=inbound.provider_message_id,
        status="received",
        created_at=at,
    )


class StoreAndRoute:
    """Stores the inbound message and its conversation's news, then lets `routed` answer, all
    in one transaction; the conversation row is locked against other instances."""

    def __init__(
        self, sessions: SessionFactory, default_language: str, routed: Step[Turn, Decision]
    ) -> None:
        self.sessions = sessions
        self.default_language = default_language
        self.routed = routed

    async def __call__(self, understood: Understood) -> Stored:
        incoming, c, now = understood.incoming, understood.classification, understood.now
        inbound, contact = incoming.message, incoming.contact
        async with self.sessions.begin() as session:
            conversation = await conversation_for(session, contact.id, now, lock=True)
            session.add(received_row(inbound, contact.id, c.redacted_text, now, c.intent))
            await session.flush()
            conversation.last_inbound_at = now
            conversation.last_channel = inbound.channel
            conversation.updated_at = now
            if conversation.state == "closed":  # a closed chat is the bot's again
                conversation.state = "bot"
            ctx = ReplyContext(
                understood.book,
                contact,
                await current_checkout(session, contact.id),
                contact.language or self.default_language,
                self.default_language,
                now,
            )
            decision = await self.routed(Turn(understood, session, conversation, ctx))
            offered_next = offered_by(decision.replies)
            if offered_next:
                conversation.memory = {**(conversation.memory or {}), "offered": offered_next}
            return Stored(decision, conversation.state)


def offered_by(replies: Sequence[OutboundMessage]) -> dict[str, str]:
    """Digit → payload of the last reply with quick replies."""
    for reply in reversed(replies):
        if reply.buttons:
            return {str(i): b.payload for i, b in enumerate(reply.buttons, start=1)}
    return {}
