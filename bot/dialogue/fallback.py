"""The classifier used when no NLU part is wired in: redaction and stop words only.

Free text it cannot place is reported `unavailable`, which routes the chat to an operator
(the same as when the Rasa server is down).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nlu.redact import redact
from nlu.types import Classification

_STOP = {"стоп", "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "отписаться",
         "wypisz", "退订"}  # fmt: skip


class FallbackClassifier:
    """Deterministic only; everything else is `unavailable`."""

    async def classify(self, text: str, offered: Mapping[str, str] | None = None) -> Classification:
        redaction = redact(text)
        clean, removed = redaction.text, redaction.card_data_removed
        word = re.sub(r"[^\w]", "", clean.lower())
        if word in _STOP:
            return Classification("opt_out", 1.0, "rule", "stop", clean, removed)
        return Classification("other", 0.0, "unavailable", None, clean, removed)
