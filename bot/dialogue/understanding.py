"""One classification per inbound message: a button, a typed command, or the classifier's."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace

from bot.channels.base import InboundMessage
from bot.dialogue.commands import command_payload
from nlu.redact import redact
from nlu.types import Classification, Classifier

log = logging.getLogger(__name__)


def typed_command(text: str) -> Classification | None:
    """A typed /status, /help, /operator or one of their plain words, as the payload it means."""
    command = command_payload(text)
    if command is None:
        return None
    return Classification("other", 1.0, "rule", command, redact(text).text)


async def classify_inbound(
    classifier: Classifier, inbound: InboundMessage, offered: Mapping[str, str]
) -> Classification:
    """What the message means; `offered`: digit or title → payload of the last quick replies."""
    if inbound.button_payload is not None:
        payload = inbound.button_payload.strip()[:64]
        return Classification("other", 1.0, "rule", payload, payload)
    text = (inbound.text or "").strip()
    command = typed_command(text)
    if command is not None:
        return command
    try:
        result = await classifier.classify(text, offered)
    except Exception:  # the NLU must never take the dialogue down
        log.exception("classifier failed; routing to an operator")
        redaction = redact(text)
        result = Classification(
            "other", 0.0, "unavailable", None, redaction.text, redaction.card_data_removed
        )
    if inbound.card_data_removed:  # the channel's parser removed it before storing
        result = replace(result, card_data_removed=True)
    # A digit or a button title typed as text means that quick reply, model or not.
    key = re.sub(r"[\s.!)]+$", "", result.redacted_text.strip().lower())
    if key in offered and result.detail not in offered.values():
        return replace(result, confidence=1.0, source="rule", detail=offered[key])
    return result
