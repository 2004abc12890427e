"""Inbound shopper message → conversation (under its lock) → rules → NLU → reply flow → send.

Order of decisions, first match wins:
  1. an operator owns the chat  → store only (a stop word still revokes consent at once)
  2. a stop word (rule)         → the opt-out flow
  3. hand-off rules (R-RP4)     → escalate: payload, fine intent, wording, NLU down
  4. a button payload or digit  → the flow that payload starts
  5. yes / no                   → the resume / decline flows
  6. the fine intent            → its flow (decline, already_paid, thanks, where_is_my_order …)
  7. the routing intent         → its flow; "other" twice in a row → escalate
A shopper who writes first (no contact for the address) gets a contact with only that
address and the welcome, unless the message is a command or a stop word (R-RP7).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app_keys import CLASSIFIER, CLOCK, METRICS, OUTBOUND, SATISFACTION, SESSIONS, SETTINGS
from bot.channels.base import InboundMessage, OutboundMessage
from bot.dialogue.actions import hand_off, opt_out, pause_chains, run_flow
from bot.dialogue.commands import command_payload, guess_language
from bot.dialogue.context import (
    ReplyContext,
    current_checkout,
    find_contact,
    offered_replies,
)
from bot.dialogue.fallback import FallbackClassifier
from bot.dialogue.first_contact import create_contact
from bot.dialogue.locks import ConversationLocks
from bot.logmask import mask_phone
from bot.store.models import Contact, Conversation, Message
from flows.replies import ReplyBook, ReplyFlow
from handoff.queue import OPERATOR_STATES, conversation_for, ensure_conversation
from nlu.intents import fine_of
from nlu.types import Classification, Classifier

log = logging.getLogger(__name__)

HandledBy = Literal["bot", "operator"]


@dataclass(frozen=True)
class Handled:
    """What became of one inbound message."""

    contact_id: int | None
    intent: str | None
    handled_by: HandledBy
    message_ids: tuple[int, ...] = ()
    state: str = "bot"
    outcome: str = ""


@dataclass
class _Decision:
    replies: list[OutboundMessage]
    intent: str
    outcome: str
    thanked: bool = False  # the shopper thanked the bot: it may ask how it helped (R-MX4)


class Dialogue:
    """The app's INBOUND_HANDLER: one instance per application."""

    def __init__(
        self,
        app: web.Application,
        touch_replies: Callable[..., Any] | None,
        reply_book: Callable[[], ReplyBook],
    ) -> None:
        self.app = app
        self.locks = ConversationLocks()
        self.reply_book = reply_book
        self.touch_replies = touch_replies
        self._fallback = FallbackClassifier()

    @property
    def classifier(self) -> Classifier:
        return self.app.get(CLASSIFIER) or self._fallback

    async def __call__(self, inbound: InboundMessage) -> Handled:
        started = time.perf_counter()
        sessions = self.app[SESSIONS]
        async with sessions() as session:
            contact = await find_contact(session, inbound.channel, inbound.address)
        first = contact is None
        if contact is None:
            contact = await self._first_contact(inbound)
            if contact is None:
                return Handled(None, None, "bot", outcome="unknown contact")
        async with self.locks.hold(contact.id):
            handled = await self._handle(contact, inbound, first=first)
        elapsed = time.perf_counter() - started
        if handled.message_ids:
            self.app[METRICS].reply_seconds.observe(elapsed)
        log.info(
            "inbound %s on %s for contact %s: %s, %s, %d repl(ies) in %.1f ms",
            inbound.provider_message_id,
            inbound.channel,
            contact.id,
            handled.intent,
            handled.outcome,
            len(handled.message_ids),
            elapsed * 1000,
        )
        return handled

    async def _first_contact(self, inbound: InboundMessage) -> Contact | None:
        """A contact holding only the address, in the language the message is written in."""
        address = inbound.address.strip()
        if not address or (inbound.channel != "telegram" and not address.lstrip("+").isdigit()):
            log.info("inbound on %s from an unusable address: ignored", inbound.channel)
            return None
        settings = self.app[SETTINGS]
        language = guess_language(inbound.text or "", settings.default_language)
        async with self.app[SESSIONS].begin() as session:
            contact = await create_contact(
                session, inbound.channel, address, language, self.app[CLOCK].now()
            )
        log.info(
            "inbound on %s from a new %s: contact %s created",
            inbound.channel,
            mask_phone(address) if inbound.channel != "telegram" else "chat",
            contact.id,
        )
        return contact

    async def _classify(
        self, inbound: InboundMessage, offered: Mapping[str, str]
    ) -> Classification:
        if inbound.button_payload is not None:
            payload = inbound.button_payload.strip()[:64]
            return Classification("other", 1.0, "rule", payload, payload)
        text = (inbound.text or "").strip()
        command = command_payload(text)
        if command is not None:
            redacted = (await self._fallback.classify(text)).redacted_text
            return Classification("other", 1.0, "rule", command, redacted)
        try:
            result = await self.classifier.classify(text, offered)
        except Exception:  # the NLU must never take the dialogue down
            log.exception("classifier failed; routing to an operator")
            result = await self._fallback.classify(text, offered)
            result = Classification(
                "other", 0.0, "unavailable", None, result.redacted_text, result.card_data_removed
            )
        if inbound.card_data_removed:  # the channel's parser removed it before storing
            result = replace(result, card_data_removed=True)
        # A digit or a button title typed as text means that quick reply, model or not.
        key = re.sub(r"[\s.!)]+$", "", result.redacted_text.strip().lower())
        if key in offered and result.detail not in offered.values():
            return replace(result, confidence=1.0, source="rule", detail=offered[key])
        return result

    async def _handle(self, contact: Contact, inbound: InboundMessage, *, first: bool) -> Handled:
        sessions = self.app[SESSIONS]
        settings = self.app[SETTINGS]
        book = self.reply_book()
        async with sessions() as session:
            offered = await offered_replies(session, contact.id, self.touch_replies)
            known = await session.scalar(
                select(Conversation.id).where(Conversation.contact_id == contact.id)
            )
        classification = await self._classify(inbound, offered)
        now = self.app[CLOCK].now()
        if known is None:
            async with sessions.begin() as session:
                await ensure_conversation(session, contact.id, now)
        try:
            async with sessions.begin() as session:
                conversation = await conversation_for(session, contact.id, now, lock=True)
                session.add(
                    Message(
                        contact_id=contact.id,
                        direction="in",
                        channel=inbound.channel,
                        address=inbound.address,
                        text=classification.redacted_text,
                        intent=classification.intent,
                        provider_message_id=inbound.provider_message_id,
                        status="received",
                        created_at=now,
                    )
                )
                await session.flush()
                conversation.last_inbound_at = now
                conversation.last_channel = inbound.channel
                conversation.updated_at = now
                ctx = ReplyContext(
                    book,
                    contact,
                    await current_checkout(session, contact.id),
                    contact.language or settings.default_language,
                    settings.default_language,
                    now,
                )
                decision = await self._decide(
                    session, ctx, conversation, classification, inbound, first=first
                )
                offered_next = _offered_by(decision.replies)
                if offered_next:
                    conversation.memory = {**(conversation.memory or {}), "offered": offered_next}
                state = conversation.state
        except IntegrityError:
            if not await self._seen(inbound):
                raise
            log.info("inbound %s already handled", inbound.provider_message_id)
            return Handled(contact.id, None, "bot", outcome="duplicate")
        self.app[METRICS].messages_total.labels(direction="in", channel=inbound.channel).inc()
        if decision.outcome.startswith("handoff:"):
            self.app[METRICS].handoffs_total.labels(reason=decision.outcome[8:]).inc()
        sent: list[int] = []
        for reply in decision.replies:
            result = await self.app[OUTBOUND].send(contact, inbound.channel, reply, author="bot")
            sent.append(result.message_id)
        satisfaction = self.app.get(SATISFACTION)
        if decision.thanked and satisfaction is not None:
            await satisfaction.after_bot_answer(contact.id)
        handled_by: HandledBy = "operator" if state in OPERATOR_STATES else "bot"
        return Handled(
            contact.id, decision.intent, handled_by, tuple(sent), state, decision.outcome
        )

    async def _seen(self, inbound: InboundMessage) -> bool:
        async with self.app[SESSIONS]() as session:
            found = await session.scalar(
                select(Message.id).where(
                    Message.channel == inbound.channel,
                    Message.provider_message_id == inbound.provider_message_id,
                )
            )
        return found is not None

    async def _decide(
        self,
        session: AsyncSession,
        ctx: ReplyContext,
        conversation: Conversation,
        classification: Classification,
        inbound: InboundMessage,
        *,
        first: bool = False,
    ) -> _Decision:
        book = ctx.book
        c = classification
        # a rule's decline keeps consent; every other opt-out rule is a stop
        is_stop = c.intent == "opt_out" and c.source == "rule" and c.detail != "decline"
        payload_flow = book.by_payload.get(c.detail or "") if c.source == "rule" else None
        if payload_flow is not None and payload_flow.do == "opt_out":
            is_stop = True
        warning = [ctx.message(book.messages.card_data)] if c.card_data_removed else []
        if conversation.state in OPERATOR_STATES:
            if is_stop:
                await opt_out(session, ctx, inbound.channel, announce=False)
            return _Decision(warning, c.intent, "stored for the operator")
        if conversation.state == "closed":
            conversation.state = "bot"
        flow = book.flows.get("opt_out") if is_stop else None
        if flow is None:
            reason = _handoff_reason(book, c, inbound)
            welcome = book.by_payload.get("help") if first and _welcomed(book, c) else None
            if welcome is not None and reason in (None, "nlu_unavailable"):
                flow = welcome  # a shopper who writes first: what the bot can do
            elif reason is not None:
                await pause_chains(session, ctx.contact.id, "reply", ctx.now)
                detail: dict[str, object] = {
                    "intent": c.intent,
                    "source": c.source,
                    "detail": c.detail,
                }
                replies = await hand_off(session, ctx, reason, detail)
                return _Decision(warning + replies, c.intent, f"handoff:{reason}")
            else:
                flow = _route(book, c)
        if flow.do == "handoff":
            replies = await hand_off(session, ctx, flow.reason or "human_requested", {})
            return _Decision(warning + replies, c.intent, f"handoff:{flow.reason}")
        if flow.do == "clarify" and (conversation.misunderstood or 0) >= 1:
            replies = await hand_off(session, ctx, "misunderstood_twice", {"text_intent": c.intent})
            return _Decision(warning + replies, c.intent, "handoff:misunderstood_twice")
        payload = c.detail if c.source == "rule" else None
        replies = await run_flow(
            session, flow, ctx, conversation, inbound.channel, payload=payload, text=c.redacted_text
        )
        intent = flow.when.intents[0] if c.source == "rule" and flow.when.intents else c.intent
        thanked = flow.do == "acknowledge"
        return _Decision(warning + replies, intent, f"flow:{flow.name}", thanked)


def _handoff_reason(book: ReplyBook, c: Classification, inbound: InboundMessage) -> str | None:
    if c.source == "rule" and c.detail:
        rule = book.handoff_by_payload.get(c.detail)
        if rule is not None:
            return rule.reason
        if c.detail in book.by_payload:
            return None  # a quick reply: its flow decides
    for rule in book.handoff:
        if c.source == "model" and c.detail and c.detail in rule.fine_intents:
            return rule.reason
    text = c.redacted_text.lower()
    if inbound.button_payload is None and text:
        for rule in book.handoff:
            for patterns in rule.patterns.values():
                if any(re.search(p, text, re.IGNORECASE) for p in patterns):
                    return rule.reason
    if c.source == "unavailable":
        return "nlu_unavailable"
    return None


def _welcomed(book: ReplyBook, c: Classification) -> bool:
    """A first message gets the welcome unless it is a command, a button or about an order."""
    if c.source == "rule" and c.detail in book.by_payload:
        return False
    return fine_of(c) != "where_is_my_order"


def _route(book: ReplyBook, c: Classification) -> ReplyFlow:
    # Only a rule's detail is a payload or yes/no; a model's detail is its own intent name.
    if c.detail and c.source == "rule":
        flow = book.by_payload.get(c.detail)
        if flow is not None:
            return flow
        if c.detail in ("yes", "no"):
            answer = book.flow_for_answer(c.detail)
            if answer is not None:
                return answer
    if c.source in ("rule", "model"):
        fine = book.flow_for_fine(fine_of(c))
        if fine is not None:
            return fine
    return book.flow_for_intent(c.intent) or book.flows["other"]


def _offered_by(replies: list[OutboundMessage]) -> dict[str, str]:
    for reply in reversed(replies):
        if reply.buttons:
            return {str(i): b.payload for i, b in enumerate(reply.buttons, start=1)}
    return {}
