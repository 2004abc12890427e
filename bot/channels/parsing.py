"""What a provider webhook turns into, and how it is kept in inbound_webhooks until processed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bot import safejson
from bot.channels.base import ChannelName, DeliveryState, InboundMessage, StatusUpdate
from nlu.redact import redact

Item = InboundMessage | StatusUpdate


class MalformedWebhook(ValueError):
    """The body is not a payload this provider sends; the message names what is wrong."""


class ForbiddenWebhook(Exception):
    """The request's signature or secret is missing or wrong; the message says which."""


@dataclass(frozen=True)
class Parsed:
    """One message or status out of a webhook, with the key that deduplicates provider retries.
    The provider's payload itself is not kept: it may hold card data and more than we need."""

    dedupe_key: str
    item: Item


def json_body(body: bytes) -> Any:
    """A webhook's payload, or MalformedWebhook when the body is not JSON."""
    try:
        return safejson.loads(body)
    except ValueError:
        raise MalformedWebhook("body is not JSON") from None


def require(value: Any, kind: type, where: str) -> Any:
    """`value` if it has the expected JSON type, else MalformedWebhook naming the field."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedWebhook(f"{where}: expected {kind.__name__}")
    return value


def text_field(value: Any, where: str, limit: int = 4096) -> str:
    return cast(str, require(value, str, where))[:limit]


def shopper_message(
    channel: ChannelName,
    address: str,
    provider_message_id: str,
    received_at: datetime,
    *,
    text: str | None = None,
    button_payload: str | None = None,
    extra: dict[str, str] | None = None,
    limit: int = 4096,
) -> InboundMessage:
    """An inbound message whose text has card numbers and CVV codes removed (R-RP5): every
    channel's parser builds its messages here, before anything is stored or logged."""
    removed = False
    if text is not None:
        # A little past the limit: a card number cut by the limit is still recognised.
        redaction = redact(text[: limit + 64])
        text, removed = redaction.text[:limit], redaction.card_data_removed
    return InboundMessage(
        channel,
        address,
        provider_message_id,
        received_at,
        text=text,
        button_payload=button_payload,
        extra=extra or {},
        card_data_removed=removed,
    )


def to_json(parsed: Parsed) -> dict[str, Any]:
    """The row payload: the normalized item, all that processing needs (no provider payload)."""
    item = parsed.item
    if isinstance(item, InboundMessage):
        data: dict[str, Any] = {
            "kind": "message",
            "channel": item.channel,
            "address": item.address,
            "id": item.provider_message_id,
            "at": item.received_at.isoformat(),
            "text": item.text,
            "button": item.button_payload,
            "extra": dict(item.extra),
            "card_removed": item.card_data_removed,
        }
    else:
        data = {
            "kind": "status",
            "channel": item.channel,
            "id": item.provider_message_id,
            "status": item.status,
            "at": item.at.isoformat(),
            "error_code": item.error_code,
            "error_reason": item.error_reason,
        }
    return data


def from_json(data: dict[str, Any]) -> Item:
    channel = cast(ChannelName, data["channel"])
    at = datetime.fromisoformat(data["at"])
    if data["kind"] == "message":
        return InboundMessage(
            channel=channel,
            address=data["address"],
            provider_message_id=data["id"],
            received_at=at,
            text=data.get("text"),
            button_payload=data.get("button"),
            extra=dict(data.get("extra") or {}),
            card_data_removed=bool(data.get("card_removed")),
        )
    return StatusUpdate(
        channel=channel,
        provider_message_id=data["id"],
        status=cast(DeliveryState, data["status"]),
        at=at,
        error_code=data.get("error_code"),
        error_reason=data.get("error_reason"),
    )


def numbered_options(text: str, titles: list[str]) -> str:
    """Buttons a channel cannot show become numbered lines; the digits map back (R-RP1)."""
    lines = [f"{i}. {title}" for i, title in enumerate(titles, start=1)]
    return text + "\n\n" + "\n".join(lines) if lines else text
