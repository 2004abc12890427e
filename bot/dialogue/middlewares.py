"""Steps around every message, kept out of the router: timing, the conversation's lock,
counting, dropping a redelivered message, the card-data warning and the reply's audit entry.

Their order is written down where they are composed (bot/dialogue/handler.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from bot.audit import audit
from bot.channels.base import InboundMessage
from bot.dialogue.locks import ConversationLocks
from bot.dialogue.pipeline import Middleware, Step
from bot.dialogue.turn import Decision, Handled, Incoming, Stored, Turn, Understood
from bot.metrics import Metrics

log = logging.getLogger(__name__)


def observe_reply_time(metrics: Metrics) -> Middleware[Incoming, Handled]:
    """Inbound to the replies handed to the provider, for messages that got an answer."""

    async def middleware(step: Step[Incoming, Handled], incoming: Incoming) -> Handled:
        handled = await step(incoming)
        if handled.message_ids:
            metrics.reply_seconds.observe(time.perf_counter() - incoming.started)
        return handled

    return middleware


def hold_lock(locks: ConversationLocks) -> Middleware[Incoming, Handled]:
    """One shopper's messages are handled one at a time, state read only under the lock."""

    async def middleware(step: Step[Incoming, Handled], incoming: Incoming) -> Handled:
        async with locks.hold(incoming.contact.id):
            return await step(incoming)

    return middleware


def count_messages(metrics: Metrics) -> Middleware[Understood, Stored]:
    """Inbound messages stored once, and the hand-offs they caused."""

    async def middleware(step: Step[Understood, Stored], understood: Understood) -> Stored:
        stored = await step(understood)
        if stored.decision is not None:
            channel = understood.incoming.message.channel
            metrics.messages_total.labels(direction="in", channel=channel).inc()
            outcome = stored.decision.outcome
            if outcome.startswith("handoff:"):
                metrics.handoffs_total.labels(reason=outcome.removeprefix("handoff:")).inc()
        return stored

    return middleware


def drop_redelivery(
    seen: Callable[[InboundMessage], Awaitable[bool]],
) -> Middleware[Understood, Stored]:
    """A provider message id stored already (a retry racing the first delivery): no answer."""

    async def middleware(step: Step[Understood, Stored], understood: Understood) -> Stored:
        try:
            return await step(understood)
        except IntegrityError:
            if not await seen(understood.incoming.message):
                raise
            log.info("inbound %s already handled", understood.incoming.message.provider_message_id)
            return Stored(None)

    return middleware


async def warn_about_card_data(step: Step[Turn, Decision], turn: Turn) -> Decision:
    """A card number or CVV was removed from the message: tell the shopper never to send it
    (R-RP5), whoever answers."""
    decision = await step(turn)
    if not turn.classification.card_data_removed:
        return decision
    warning = turn.ctx.message(turn.book.messages.card_data)
    return replace(decision, replies=[warning, *decision.replies])


async def audit_reply(step: Step[Turn, Decision], turn: Turn) -> Decision:
    """The audit trail of what a reply flow did and said (R-PS4)."""
    decision = await step(turn)
    note = decision.replied
    if note is not None:
        audit(
            turn.session,
            at=turn.ctx.now,
            action="replied",
            contact_id=turn.ctx.contact.id,
            rule=note.rule,
            detail={**note.detail},
        )
    return decision
