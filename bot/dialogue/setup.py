"""Conversations: inbound handling, the satisfaction question, /sandbox/inbound and
/sandbox/conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.app_keys import (
    CLOCK,
    FLOWS,
    INBOUND_HANDLER,
    OUTBOUND,
    SATISFACTION,
    SCHEDULER,
    SESSIONS,
    SETTINGS,
)
from bot.dialogue import paid_checks
from bot.dialogue.handler import Dialogue
from bot.dialogue.satisfaction import Satisfaction
from bot.dialogue.touch_offers import TouchOffers
from bot.sandbox import conversation

DIALOGUE = web.AppKey("dialogue", Dialogue)


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    dialogue = Dialogue(app, TouchOffers(app[SETTINGS].root))
    app[DIALOGUE] = dialogue
    app[INBOUND_HANDLER] = dialogue.__call__

    async def satisfaction(app: web.Application) -> AsyncIterator[None]:
        app[SATISFACTION] = Satisfaction(
            app[SESSIONS],
            app[CLOCK],
            app[SETTINGS],
            lambda: app[OUTBOUND],
            dialogue.book.current,
            lambda: app[FLOWS].current.rules,
        )
        yield

    app.cleanup_ctx.append(satisfaction)
    app[SCHEDULER].add_tick("paid-checks", paid_checks.tick(app))
    conversation.setup(app)
