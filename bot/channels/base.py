"""The one interface every channel speaks; nothing outside bot/channels sees a provider payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from flows.templates import TemplateButton

if TYPE_CHECKING:
    from aiohttp import web

    from bot.channels.parsing import Parsed

ChannelName = Literal["whatsapp", "sms", "telegram"]
CHANNELS: tuple[ChannelName, ...] = ("whatsapp", "sms", "telegram")
SendOutcome = Literal["sent", "failed", "unknown", "no_account"]
DeliveryState = Literal["sent", "delivered", "read", "failed"]


# A quick reply: the designer files' button is what the channels send.
Button = TemplateButton


@dataclass(frozen=True)
class OutboundMessage:
    text: str
    buttons: tuple[Button, ...] = ()
    # A WhatsApp pre-approved template name: required outside the 24-hour window (R-SR6).
    template: str | None = None
    template_params: tuple[str, ...] = ()
    language: str = "ru"


@dataclass(frozen=True)
class SendResult:
    """What the provider said. `unknown` (timeout) must never be blindly retried (R-SR9)."""

    outcome: SendOutcome
    provider_message_id: str | None = None
    error_code: str | None = None
    error_reason: str | None = None
    segments: int | None = None
    retryable: bool = False
    # Seconds the provider asked us to wait (429 Retry-After); only meaningful when retryable.
    retry_after: float | None = None
    # The row of the channel's failure table (bot/channels/failures) this failure matched.
    failure: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A shopper's message from any channel: text, or the payload of a tapped button."""

    channel: ChannelName
    address: str  # E.164 phone for WhatsApp/SMS, chat id for Telegram
    provider_message_id: str
    received_at: datetime
    text: str | None = None
    button_payload: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # The text had a card number or CVV code, removed before anything stored it (R-RP5).
    card_data_removed: bool = False


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status callback for a message we sent."""

    channel: ChannelName
    provider_message_id: str
    status: DeliveryState
    at: datetime
    error_code: str | None = None
    error_reason: str | None = None


# Told of every delivery status that changed a message: (the status, messages.id).
StatusListener = Callable[[StatusUpdate, int], Awaitable[None]]


class ChannelClient(Protocol):
    """Sends through one provider. Implementations: WhatsApp Cloud API, Twilio, Telegram."""

    name: ChannelName

    async def send(self, to: str, message: OutboundMessage) -> SendResult: ...


class WebhookChannel(ChannelClient, Protocol):
    """A provider's whole protocol: its webhook (`/webhooks/<webhook>`) and sending.

    The generic route calls `authenticate`, then `parse`, stores the items, then answers with
    `acknowledge`; ForbiddenWebhook is a 403 with nothing stored, MalformedWebhook a 400."""

    webhook: str

    def challenge(self, query: Mapping[str, str]) -> web.Response | None:
        """The answer to the provider's GET (a subscription check); None: it sends no GET."""
        ...

    def authenticate(self, body: bytes, headers: Mapping[str, str], path_qs: str) -> Any:
        """The decoded payload, once the request is shown to come from the provider."""
        ...

    def parse(self, payload: Any, now: datetime) -> list[Parsed]:
        """Every shopper message and delivery status in an authenticated payload."""
        ...

    def acknowledge(self) -> web.Response:
        """What the provider expects once the payload is stored."""
        ...
