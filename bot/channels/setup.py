"""The channels part: one channel per provider (webhook and sending), app[OUTBOUND], the inbox
and the fake providers.

Every provider's webhook is served; only providers with credentials send. In sandbox mode
without provider credentials the three fakes run on loopback in this process and the channels
send to them; with credentials the channels talk to the providers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from aiohttp import web

from bot.app_keys import (
    CLOCK,
    ENGINE,
    FAKES,
    HEALTH_PROBES,
    INBOUND_HANDLER,
    INBOX,
    LINK_CONFIG,
    METRICS,
    OUTBOUND,
    SERVICE_URL,
    SESSIONS,
    SETTINGS,
    STATUS_LISTENERS,
    TELEGRAM,
    WEBHOOK_CHANNELS,
)
from bot.channels.base import ChannelClient, InboundMessage, OutboundMessage, WebhookChannel
from bot.channels.fakes.providers import FakeProviders
from bot.channels.pacing import Pacer
from bot.channels.telegram import TELEGRAM_URL, TelegramChannel, make_bot
from bot.channels.telegram_binding import (
    LinkBinder,
    LinkConfig,
    Reply,
    check_answers,
    get_telegram_link,
)
from bot.channels.twilio_sms import TWILIO_URL, TwilioSmsChannel
from bot.channels.whatsapp import GRAPH_URL, WhatsAppChannel
from bot.outbound import Outbound
from bot.settings import Settings, sandbox_credentials
from bot.webhooks.inbox import Inbox, inbox_health
from bot.webhooks.ledger import RetryPolicy
from bot.webhooks.routes import add_routes
from flows.designer import DesignerFiles

log = logging.getLogger(__name__)
RECIPIENT_BURST = 5


def _pacer(settings: Settings, per_number: float) -> Pacer:
    return Pacer(per_number, settings.recipient_rate_per_minute / 60.0, RECIPIENT_BURST)


def _channels_of(
    settings: Settings, http: httpx.AsyncClient, urls: dict[str, str] | None
) -> dict[str, WebhookChannel]:
    """Every provider's channel by its webhook name; sending to the fakes when `urls` is given.

    Live, a provider without credentials gets an empty one (it does not send, see `_sending`)."""
    if urls is not None:
        settings = sandbox_credentials(settings)  # the values FakeProviders accepts
    whatsapp = WhatsAppChannel(
        http,
        token=settings.whatsapp_token,
        phone_number_id=settings.whatsapp_phone_number_id,
        api_url=urls["whatsapp"] if urls else settings.whatsapp_api_url or GRAPH_URL,
        pacer=_pacer(settings, settings.whatsapp_rate_per_second),
        app_secret=settings.whatsapp_app_secret,
        verify_token=settings.whatsapp_verify_token,
    )
    sms = TwilioSmsChannel(
        http,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=settings.twilio_from_number,
        status_callback=settings.public_url + "/webhooks/twilio",
        api_url=urls["sms"] if urls else settings.twilio_api_url or TWILIO_URL,
        pacer=_pacer(settings, settings.sms_rate_per_second),
        public_url=settings.public_url,
    )
    bot = None
    if settings.telegram_bot_token:
        bot = make_bot(
            settings.telegram_bot_token,
            urls["telegram"] if urls else settings.telegram_api_url or TELEGRAM_URL,
            timeout=settings.send_timeout_seconds,
        )
    telegram = TelegramChannel(
        bot,
        pacer=_pacer(settings, settings.telegram_rate_per_second),
        secret_token=settings.telegram_secret_token,
    )
    return {channel.webhook: channel for channel in (whatsapp, sms, telegram)}


def _sending(
    settings: Settings, channels: dict[str, WebhookChannel], fake: bool
) -> dict[str, ChannelClient]:
    """The channels that send: every provider with credentials, or all three to the fakes."""
    configured = {
        "whatsapp": bool(settings.whatsapp_token),
        "twilio": bool(settings.twilio_account_sid),
        "telegram": bool(settings.telegram_bot_token),
    }
    return {c.name: c for webhook, c in channels.items() if fake or configured[webhook]}


def _clients(
    settings: Settings, http: httpx.AsyncClient, urls: dict[str, str] | None
) -> dict[str, ChannelClient]:
    """Channels for every provider that has credentials (or a fake when `urls` is given)."""
    return _sending(settings, _channels_of(settings, http, urls), urls is not None)


def _replier(telegram: ChannelClient | None) -> Reply | None:
    """How the link binder answers a chat: straight to Telegram, the chat has no contact yet."""
    if telegram is None:
        return None
    client = telegram

    async def reply(chat: str, text: str, language: str) -> None:
        result = await client.send(chat, OutboundMessage(text, language=language))
        if result.outcome != "sent":
            log.warning("telegram link answer not sent: %s", result.error_code)

    return reply


async def _channels(designer_files: DesignerFiles, app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    fakes: FakeProviders | None = None
    urls: dict[str, str] | None = None
    if settings.sandbox and not settings.providers_configured:
        fakes = FakeProviders(settings, callbacks=settings.sandbox_status_callbacks)
        urls = await fakes.start()
        fakes.target = app.get(SERVICE_URL)
        app[FAKES] = fakes
    timeout = httpx.Timeout(settings.send_timeout_seconds, connect=5.0)
    # Small pool: httpcore scans every connection per request, so big pools cost CPU.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    http = httpx.AsyncClient(timeout=timeout, limits=limits)
    channels = _channels_of(settings, http, urls)
    app[WEBHOOK_CHANNELS] = channels
    clients = _sending(settings, channels, urls is not None)
    app[OUTBOUND] = Outbound(app[SESSIONS], app[CLOCK], clients, app[METRICS])
    telegram = clients.get("telegram")
    if isinstance(telegram, TelegramChannel):
        app[TELEGRAM] = telegram
    secret = settings.telegram_link_secret
    app[LINK_CONFIG] = LinkConfig(app[SESSIONS], secret, settings.telegram_bot_username, app[CLOCK])
    check_answers(designer_files.templates())
    binder = LinkBinder(
        app[SESSIONS],
        app[CLOCK],
        secret,
        timedelta(days=settings.telegram_link_days),
        designer_files.templates,
        settings.default_language,
        _replier(telegram),
    )

    async def start_command(item: InboundMessage) -> bool:
        if isinstance(telegram, TelegramChannel) and "callback_id" in item.extra:
            await telegram.answer_button(item.extra["callback_id"])
        return await binder(item)

    policy = RetryPolicy(
        max_attempts=settings.inbox_max_attempts,
        base_seconds=settings.inbox_retry_seconds,
        lease_seconds=settings.inbox_lease_seconds,
    )
    inbox = Inbox(
        app[ENGINE],
        app[CLOCK],
        lambda: app.get(INBOUND_HANDLER),
        app[STATUS_LISTENERS],
        hooks=[start_command],
        policy=policy,
        metrics=app[METRICS],
        poll_seconds=min(1.0, settings.inbox_retry_seconds),
    )
    app[INBOX] = inbox
    app[HEALTH_PROBES]["webhooks"] = lambda: "ok" if len(inbox.tasks) < 1000 else "degraded"
    app[HEALTH_PROBES]["inbox"] = functools.partial(inbox_health, inbox)
    resumed = await inbox.resume()
    if resumed:
        log.info("resuming %d stored webhooks left unprocessed", resumed)
    inbox.start()
    mode = "fake providers on loopback" if fakes else "providers: " + ", ".join(clients) or "none"
    log.info("channels ready (%s)", mode)
    yield
    await inbox.drain()
    inbox.writer.close()
    if isinstance(telegram, TelegramChannel):
        await telegram.close()
    await http.aclose()
    if fakes is not None:
        await fakes.stop()


def setup(app: web.Application, designer_files: DesignerFiles) -> None:
    """Register this part's routes, cleanup contexts and listeners on the application."""
    app[STATUS_LISTENERS] = []
    app.cleanup_ctx.append(functools.partial(_channels, designer_files))
    add_routes(app)
    app.router.add_get("/api/v1/contacts/{id}/telegram-link", get_telegram_link)
    if app[SETTINGS].sandbox:
        from bot.sandbox import phone, providers

        providers.add_routes(app)
        phone.add_routes(app)
