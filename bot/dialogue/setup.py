"""Wiring of issue 6 (conversations): inbound handling, /sandbox/inbound, /sandbox/conversations."""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import INBOUND_HANDLER, SCHEDULER, SETTINGS
from bot.dialogue import paid_checks
from bot.dialogue.handler import Dialogue
from bot.dialogue.touch_offers import TouchOffers
from bot.sandbox import conversation

DIALOGUE = web.AppKey("dialogue", Dialogue)


def setup(app: web.Application) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    dialogue = Dialogue(app, TouchOffers(app[SETTINGS].root))
    app[DIALOGUE] = dialogue
    app[INBOUND_HANDLER] = dialogue.__call__
    app[SCHEDULER].add_tick("paid-checks", paid_checks.tick(app))
    conversation.setup(app)
