"""The classifier used when no NLU part is composed in: redaction and stop words only.

Free text it cannot place is reported `unavailable`, which routes the chat to an operator
(the same as when the Rasa server is down).
"""

from __future__ import annotations

from collections.abc import Mapping

from nlu.redact import redact
from nlu.rules import is_stop
from nlu.types import Classification


class FallbackClassifier:
    """Deterministic only (nlu/redact.py, nlu/rules.py's stop list); everything else is
    `unavailable`."""

    async def classify(self, text: str, offered: Mapping[str, str] | None = None) -> Classification:
        redaction = redact(text)
        clean, removed = redaction.text, redaction.card_data_removed
        if is_stop(clean):
            return Classification("opt_out", 1.0, "rule", "stop", clean, removed)
        return Classification("other", 0.0, "unavailable", None, clean, removed)
