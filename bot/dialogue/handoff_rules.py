"""When a person takes the chat (R-RP4): the designers' hand-off rules applied to a message."""

from __future__ import annotations

import re

from flows.replies import ReplyBook
from nlu.types import Classification


def handoff_reason(book: ReplyBook, c: Classification, *, typed: bool) -> str | None:
    """The reason of the first rule that matches: payload, the model's fine intent, wording
    (of `typed` text only, not a tapped button); `nlu_unavailable` when free text could not be
    classified; None otherwise."""
    if c.source == "rule" and c.detail:
        rule = book.handoff_by_payload.get(c.detail)
        if rule is not None:
            return rule.reason
        if c.detail in book.by_payload:
            return None  # a quick reply: its flow decides
    for rule in book.handoff:
        if c.source == "model" and c.detail and c.detail in rule.fine_intents:
            return rule.reason
    text = c.redacted_text.lower()
    if typed and text:
        for rule in book.handoff:
            for patterns in rule.patterns.values():
                if any(re.search(p, text, re.IGNORECASE) for p in patterns):
                    return rule.reason
    if c.source == "unavailable":
        return "nlu_unavailable"
    return None
