"""Inbound shopper message → contact → (lock) → one classification → (stored, routed once) →
the route's answer → sent.

The routes, first match wins, are in bot/dialogue/routes.py; the steps around them in
bot/dialogue/middlewares.py. A shopper who writes first (no contact for the address) gets a
contact with only that address (R-RP7).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bot.channels.base import ChannelName, InboundMessage, OutboundMessage
from bot.clock import Clock
from bot.dialogue import middlewares, routes
from bot.dialogue.commands import guess_language
from bot.dialogue.context import find_contact, offered_replies
from bot.dialogue.first_contact import create_contact
from bot.dialogue.locks import ConversationLocks
from bot.dialogue.pipeline import wrap
from bot.dialogue.storing import StoreAndRoute
from bot.dialogue.turn import Handled, HandledBy, Incoming, Understood
from bot.dialogue.understanding import classify_inbound
from bot.logmask import mask_phone
from bot.metrics import Metrics
from bot.store.db import SessionFactory
from bot.store.models import Contact, Conversation, Message
from flows.replies import ReplyBook
from handoff.queue import OPERATOR_STATES, ensure_conversation
from nlu.types import Classifier

log = logging.getLogger(__name__)

# Sends one bot reply on a channel; the id of the stored outbound message.
SendReply = Callable[[Contact, ChannelName, OutboundMessage], Awaitable[int]]
# The quick replies a touch offered: (flow, step) → digit/payload → action.
TouchOffers = Callable[[str, str], dict[str, str]]


class Dialogue:
    """The app's INBOUND_HANDLER, given exactly what it uses; one per application."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        clock: Clock,
        classifier: Classifier,
        replies: Callable[[], ReplyBook],
        touch_offers: TouchOffers | None,
        send: SendReply,
        metrics: Metrics,
        default_language: str,
        after_bot_answer: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.classifier = classifier
        self.replies = replies
        self.touch_offers = touch_offers
        self.send = send
        self.default_language = default_language
        self.after_bot_answer = after_bot_answer
        self.locks = ConversationLocks()
        # Outermost first. The lock is taken before the conversation is read; a redelivery is
        # recognised by the stored message's unique id, so it wraps the storing transaction and
        # is counted nowhere; the card warning and the audit entry see the routed decision.
        self._converse = wrap(
            self._converse_once,
            [middlewares.observe_reply_time(metrics), middlewares.hold_lock(self.locks)],
        )
        self._store_and_route = wrap(
            StoreAndRoute(
                sessions,
                default_language,
                wrap(routes.dispatch, [middlewares.warn_about_card_data, middlewares.audit_reply]),
            ),
            [middlewares.count_messages(metrics), middlewares.drop_redelivery(self._seen)],
        )

    async def __call__(self, inbound: InboundMessage) -> Handled:
        started = time.perf_counter()
        async with self.sessions() as session:
            contact = await find_contact(session, inbound.channel, inbound.address)
        first = contact is None
        if contact is None:
            contact = await self._first_contact(inbound)
            if contact is None:
                return Handled(None, None, "bot", outcome="unknown contact")
        handled = await self._converse(Incoming(inbound, contact, first, started))
        log.info(
            "inbound %s on %s for contact %s: %s, %s, %d repl(ies) in %.1f ms",
            inbound.provider_message_id,
            inbound.channel,
            contact.id,
            handled.intent,
            handled.outcome,
            len(handled.message_ids),
            (time.perf_counter() - started) * 1000,
        )
        return handled

    async def _first_contact(self, inbound: InboundMessage) -> Contact | None:
        """A contact holding only the address, in the language the message is written in."""
        address = inbound.address.strip()
        if not address or (inbound.channel != "telegram" and not address.lstrip("+").isdigit()):
            log.info("inbound on %s from an unusable address: ignored", inbound.channel)
            return None
        language = guess_language(inbound.text or "", self.default_language)
        async with self.sessions.begin() as session:
            contact = await create_contact(
                session, inbound.channel, address, language, self.clock.now()
            )
        log.info(
            "inbound on %s from a new %s: contact %s created",
            inbound.channel,
            mask_phone(address) if inbound.channel != "telegram" else "chat",
            contact.id,
        )
        return contact

    async def _converse_once(self, incoming: Incoming) -> Handled:
        """Classify once, store and route once, then send what the route answered."""
        contact = incoming.contact
        book = self.replies()
        async with self.sessions() as session:
            offered = await offered_replies(session, contact.id, self.touch_offers)
            known = await session.scalar(
                select(Conversation.id).where(Conversation.contact_id == contact.id)
            )
        classification = await classify_inbound(self.classifier, incoming.message, offered)
        now = self.clock.now()
        if known is None:
            async with self.sessions.begin() as session:
                await ensure_conversation(session, contact.id, now)
        stored = await self._store_and_route(Understood(incoming, classification, book, now))
        decision = stored.decision
        if decision is None:
            return Handled(contact.id, None, "bot", outcome="duplicate")
        channel = incoming.message.channel
        sent = tuple([await self.send(contact, channel, reply) for reply in decision.replies])
        if decision.thanked and self.after_bot_answer is not None:
            await self.after_bot_answer(contact.id)
        handled_by: HandledBy = "operator" if stored.state in OPERATOR_STATES else "bot"
        return Handled(
            contact.id, decision.intent, handled_by, sent, stored.state, decision.outcome
        )

    async def _seen(self, inbound: InboundMessage) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(
                select(Message.id).where(
                    Message.channel == inbound.channel,
                    Message.provider_message_id == inbound.provider_message_id,
                )
            )
        return found is not None
