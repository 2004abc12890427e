"""Conversations: inbound handling, the satisfaction question, /sandbox/inbound and
/sandbox/conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.app_keys import (
    CLASSIFIER,
    CLOCK,
    INBOUND_HANDLER,
    METRICS,
    OUTBOUND,
    SATISFACTION,
    SCHEDULER,
    SESSIONS,
    SETTINGS,
)
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage
from bot.dialogue import paid_checks
from bot.dialogue.fallback import FallbackClassifier
from bot.dialogue.handler import Dialogue
from bot.dialogue.satisfaction import Satisfaction
from bot.dialogue.turn import Handled
from bot.sandbox import conversation
from bot.store.models import Contact
from bot.touches.control import stop_chains
from flows.designer import DesignerFiles

DIALOGUE = web.AppKey("dialogue", Dialogue)


def setup(app: web.Application, designer_files: DesignerFiles) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    settings = app[SETTINGS]
    reply_book = designer_files.reply_book  # the reply flows, shop settings, texts
    touch_offers = designer_files.quick_replies
    # Without an NLU part the dialogue still knows the stop words (free text: an operator).
    classifier = app.get(CLASSIFIER) or FallbackClassifier()

    async def dialogue(app: web.Application) -> AsyncIterator[None]:
        outbound = app[OUTBOUND]
        satisfaction = Satisfaction(
            app[SESSIONS],
            app[CLOCK],
            settings,
            lambda: outbound,
            reply_book,
            lambda: designer_files.current.rules,
        )

        async def send(contact: Contact, channel: ChannelName, reply: OutboundMessage) -> int:
            return (await outbound.send(contact, channel, reply, author="bot")).message_id

        app[SATISFACTION] = satisfaction
        app[DIALOGUE] = Dialogue(
            sessions=app[SESSIONS],
            clock=app[CLOCK],
            classifier=classifier,
            replies=reply_book,
            touch_offers=touch_offers,
            send=send,
            metrics=app[METRICS],
            default_language=settings.default_language,
            after_bot_answer=satisfaction.after_bot_answer,
        )
        yield

    async def handle_inbound(inbound: InboundMessage) -> Handled:
        return await app[DIALOGUE](inbound)  # composed at start-up, with the storage

    app.cleanup_ctx.append(dialogue)
    app[INBOUND_HANDLER] = handle_inbound
    app[SCHEDULER].add_tick("paid-checks", paid_checks.tick(lambda: app[SESSIONS], stop_chains))
    conversation.setup(app)
