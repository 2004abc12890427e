"""What a provider webhook turns into, and how it is kept in inbound_webhooks until processed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bot.channels.base import ChannelName, DeliveryState, InboundMessage, StatusUpdate

Item = InboundMessage | StatusUpdate


class MalformedWebhook(ValueError):
    """The body is not a payload this provider sends; the message names what is wrong."""


@dataclass(frozen=True)
class Parsed:
    """One message or status out of a webhook, with the key that deduplicates provider retries."""

    dedupe_key: str
    item: Item
    raw: Any


def require(value: Any, kind: type, where: str) -> Any:
    """`value` if it has the expected JSON type, else MalformedWebhook naming the field."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedWebhook(f"{where}: expected {kind.__name__}")
    return value


def text_field(value: Any, where: str, limit: int = 4096) -> str:
    return cast(str, require(value, str, where))[:limit]


def to_json(parsed: Parsed) -> dict[str, Any]:
    """The row payload: the normalized item (for processing) and the provider's raw object."""
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
    data["raw"] = parsed.raw
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
