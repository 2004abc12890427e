"""App keys private to the channels part (issue 5); other parts may register listeners here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.base import StatusUpdate
from bot.clock import Clock
from bot.store.db import SessionFactory

if TYPE_CHECKING:
    from bot.channels.fakes.providers import FakeProviders
    from bot.channels.telegram import TelegramClient
    from bot.webhooks.inbox import Inbox

StatusListener = Callable[[StatusUpdate, int], Awaitable[None]]

# Called for every delivery status that changed a message (update, messages.id); e.g. the
# touches part listens for failed 131026 to fall back to SMS (R-SR7).
STATUS_LISTENERS: web.AppKey[list[StatusListener]] = web.AppKey("status_listeners")
INBOX: web.AppKey[Inbox] = web.AppKey("inbox")
FAKES: web.AppKey[FakeProviders] = web.AppKey("fake_providers")
TELEGRAM: web.AppKey[TelegramClient] = web.AppKey("telegram_client")
# Where the fakes post callbacks: set by `nudge run` (and by tests) to the service's own URL.
SERVICE_URL: web.AppKey[str] = web.AppKey("service_url")


class LinkConfig:
    """What the telegram-link endpoint needs: sessions, the link secret, the bot's username
    and the clock that stamps a token's issue time."""

    def __init__(
        self, sessions: SessionFactory, secret: str, bot_username: str, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.secret = secret
        self.bot_username = bot_username
        self.clock = clock


LINK_CONFIG: web.AppKey[LinkConfig] = web.AppKey("telegram_link_config")
