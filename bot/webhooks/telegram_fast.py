"""The common Telegram update — a private text message — read straight from the JSON.

python-telegram-bot's `Update.de_json` sets every one of a Message's ~200 attributes and costs
several hundred microseconds per update, most of the acknowledgement's CPU. A plain text
message (what shoppers send) is recognised here only when every key is one this reader checks
with the types Telegram documents; anything else — buttons, media, edits, odd values — goes to
`telegram.parse_update`, so both give the same result (tests/test_webhooks_telegram_fast.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.channels.parsing import Parsed, shopper_message

_MESSAGE_KEYS = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_ENTITY_KEYS = frozenset({"type", "offset", "length"})
_SCALARS = (str, int, bool)
_USER: dict[str, type] = {"id": int, "is_bot": bool, "first_name": str}


def _int(value: Any) -> bool:
    return type(value) is int


def _flat(value: Any, required: dict[str, type]) -> bool:
    """A dict of scalars whose required keys have the given exact types (User, Chat)."""
    if type(value) is not dict:
        return False
    if any(type(value.get(k)) is not t for k, t in required.items()):
        return False
    return all(v is None or type(v) in _SCALARS for v in value.values())


def _entities(value: Any) -> bool:
    return type(value) is list and all(
        type(e) is dict
        and e.keys() == _ENTITY_KEYS
        and type(e["type"]) is str
        and _int(e["offset"])
        and _int(e["length"])
        for e in value
    )


def parse_text_update(data: Any, now: datetime) -> list[Parsed] | None:
    """The parsed text message, or None when the update is not the plain shape read here."""
    if type(data) is not dict or data.keys() != {"update_id", "message"}:
        return None
    key, message = data["update_id"], data["message"]
    if not _int(key) or type(message) is not dict or not message.keys() <= _MESSAGE_KEYS:
        return None
    chat: Any = message.get("chat")
    text: Any = message.get("text")
    date: Any = message.get("date")
    if not (
        _int(message.get("message_id"))
        and _int(date)
        and 0 < date < 2**31
        and type(text) is str
        and _flat(chat, {"id": int, "type": str})
        and ("from" not in message or _flat(message["from"], _USER))
        and ("entities" not in message or _entities(message["entities"]))
    ):
        return None
    extra = {"message_id": str(message["message_id"])}
    if text == "/start" or text.startswith("/start "):
        extra["start_token"] = text[len("/start") :].strip()[:64]
    update_id = str(key)
    item = shopper_message("telegram", str(chat["id"]), update_id, now, text=text, extra=extra)
    return [Parsed(update_id, item)]
