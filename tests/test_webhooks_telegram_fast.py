"""The fast reader of plain Telegram text updates agrees with python-telegram-bot's parse."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.parsing import MalformedWebhook, Parsed
from bot.channels.telegram import parse_text_update, parse_update

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _text(update_id: int = 7, text: str = "Когда доставка?", **message: Any) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 11,
            "from": {"id": 4242, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
            "chat": {"id": 4242, "type": "private", "first_name": "Anna"},
            "date": 1772442000,
            "text": text,
            **message,
        },
    }


def _reference(data: Any) -> list[Parsed] | type[Exception]:
    try:
        return parse_update(copy.deepcopy(data), NOW)
    except MalformedWebhook:
        return MalformedWebhook


def test_plain_text_and_start_link_read_directly() -> None:
    entities = [{"type": "bot_command", "offset": 0, "length": 6}]
    for data in (_text(), _text(text="/start abc123", entities=entities), _text(text="/start")):
        fast = parse_text_update(data, NOW)
        assert fast is not None, data
        assert fast == parse_update(data, NOW)
    start = parse_text_update(_text(text="/start abc123"), NOW)
    assert start is not None and start[0].item.extra["start_token"] == "abc123"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 9, "callback_query": {"id": "1", "data": "pay"}},
        {"update_id": 9, "edited_message": _text()["message"]},
        _text(photo=[{"file_id": "x"}]),
        _text(text=None),
        {"update_id": "7", "message": _text()["message"]},
        {**_text(), "extra": 1},
        [],
        None,
    ],
)
def test_other_shapes_left_to_python_telegram_bot(data: Any) -> None:
    assert parse_text_update(data, NOW) is None


def test_agrees_with_python_telegram_bot_on_mutated_updates() -> None:
    """Wherever the fast reader answers, PTB's parse gives the same items (never an error)."""
    rng = random.Random(11)
    leaves: list[Any] = [None, 0, -1, 2**40, 1.5, True, False, "", "x", [], {}, [1], {"a": 1}]
    answered = 0

    def mutate(node: Any) -> Any:
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            roll = rng.random()
            if roll < 0.1:
                return {k: v for k, v in node.items() if k != key}
            if roll < 0.2:
                return {**node, rng.choice(["sender_chat", "caption", "zz"]): rng.choice(leaves)}
            return {**node, key: mutate(node[key]) if roll < 0.7 else rng.choice(leaves)}
        if isinstance(node, list) and node:
            return [mutate(node[0]), *node[1:]]
        return rng.choice(leaves)

    base = _text(text="/start tok", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    for _ in range(600):
        data = mutate(json.loads(json.dumps(base)))
        fast = parse_text_update(data, NOW)
        if fast is not None:
            answered += 1
            assert fast == _reference(data), data
    assert answered > 50  # the comparison covered many accepted variants, not only rejects
