"""The outbox item shape of CONTRACT.md, shared by /sandbox/outbox and /sandbox/inbound."""

from __future__ import annotations

from typing import Any

from bot.store.models import Message, Touch


def outbox_item(message: Message, touch: Touch | None) -> dict[str, Any]:
    buttons = (message.buttons or {}).get("items", [])
    return {
        "id": str(message.id),
        "channel": message.channel,
        "to": message.address,
        "text": message.text,
        "buttons": [b["title"] for b in buttons],
        "template": message.template is not None,
        "sent_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "status": message.status,
        "touch": (
            {"flow": touch.flow, "step": touch.step, "variant": touch.variant}
            if touch is not None
            else None
        ),
    }
