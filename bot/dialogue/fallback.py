"""The classifier used when no NLU part is wired in: redaction and stop words only.

Free text it cannot place is reported `unavailable`, which routes the chat to an operator
(the same as when the Rasa server is down).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nlu.types import Classification

_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_CVV = re.compile(r"(?i)\b(cvv|cvc|cvv2|код)\D{0,5}\d{3,4}\b")
_STOP = {"стоп", "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "отписаться",
         "wypisz", "退订"}  # fmt: skip


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def redact(text: str) -> tuple[str, bool]:
    """Card numbers (Luhn-valid) and CVV codes replaced; True when something was removed."""
    removed = False

    def card(match: re.Match[str]) -> str:
        nonlocal removed
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            removed = True
            return "[card removed]"
        return match.group(0)

    text = _CARD.sub(card, text)
    text, count = _CVV.subn("[code removed]", text)
    return text, removed or count > 0


class FallbackClassifier:
    """Deterministic only; everything else is `unavailable`."""

    async def classify(self, text: str, offered: Mapping[str, str] | None = None) -> Classification:
        clean, removed = redact(text)
        word = re.sub(r"[^\w]", "", clean.lower())
        if word in _STOP:
            return Classification("opt_out", 1.0, "rule", "stop", clean, removed)
        return Classification("other", 0.0, "unavailable", None, clean, removed)
