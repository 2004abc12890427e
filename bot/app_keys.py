"""Typed keys for the long-lived objects the application holds (built once in app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.store.db import SessionFactory

if TYPE_CHECKING:
    from bot.api.ingest import EventListener
    from bot.api.keys import KeyRing
    from bot.metrics import Metrics
    from nlu.supervisor import RasaSupervisor

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS: web.AppKey[SessionFactory] = web.AppKey("sessions")
KEYRING: web.AppKey[KeyRing] = web.AppKey("keyring")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
EVENT_LISTENERS: web.AppKey[list[EventListener]] = web.AppKey("event_listeners")
# name → callable returning "ok" | "degraded" | "down"; filled by the components themselves
SCHEDULER = web.AppKey("scheduler", Scheduler)
NLU_SUPERVISOR: web.AppKey[RasaSupervisor] = web.AppKey("nlu_supervisor")
HEALTH_PROBES: web.AppKey[dict[str, Any]] = web.AppKey("health_probes")

if TYPE_CHECKING:
    from bot.outbound import Outbound
    from nlu.types import Classifier

# The single sending door (bot/outbound.py); channels are set up by bot/channels/setup.py.
OUTBOUND: web.AppKey[Outbound] = web.AppKey("outbound")
# The live classification path (nlu): rules → Rasa → threshold.
CLASSIFIER: web.AppKey[Classifier] = web.AppKey("classifier")

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.channels.base import InboundMessage

# Called by every channel for each inbound shopper message (set by bot/dialogue/setup.py).
INBOUND_HANDLER: web.AppKey[Callable[[InboundMessage], Awaitable[Any]]] = web.AppKey(
    "inbound_handler"
)

if TYPE_CHECKING:
    from bot.dialogue.satisfaction import Satisfaction

# Asks the 1–5 question when a conversation ends (R-MX4); the console calls it on close.
SATISFACTION: web.AppKey[Satisfaction] = web.AppKey("satisfaction")

if TYPE_CHECKING:
    from bot.channels.base import StatusListener, WebhookChannel
    from bot.channels.fakes.providers import FakeProviders
    from bot.channels.telegram import TelegramChannel
    from bot.channels.telegram_binding import LinkConfig
    from bot.touches.firing import Firing
    from bot.webhooks.inbox import Inbox
    from flows.designer import DesignerFiles

# Channels (set up by bot/channels/setup.py).
# Told of every delivery status that changed a message; e.g. the touches part listens for
# failed 131026 to fall back to SMS (R-SR7).
STATUS_LISTENERS: web.AppKey[list[StatusListener]] = web.AppKey("status_listeners")
# Each provider's channel by its webhook name: `/webhooks/<name>`.
WEBHOOK_CHANNELS: web.AppKey[dict[str, WebhookChannel]] = web.AppKey("webhook_channels")
INBOX: web.AppKey[Inbox] = web.AppKey("inbox")
FAKES: web.AppKey[FakeProviders] = web.AppKey("fake_providers")
TELEGRAM: web.AppKey[TelegramChannel] = web.AppKey("telegram_client")
# Where the fakes post callbacks: set by `nudge run` (and by tests) to the service's own URL.
SERVICE_URL: web.AppKey[str] = web.AppKey("service_url")
LINK_CONFIG: web.AppKey[LinkConfig] = web.AppKey("telegram_link_config")

# The designer files in force (flows, replies, shop, country rules), reloaded when they change.
FLOWS: web.AppKey[DesignerFiles] = web.AppKey("touch_flows")
# This instance's firing of due touches (bot/touches/firing).
FIRING: web.AppKey[Firing] = web.AppKey("touch_firing")
