"""The result of understanding one shopper message, shared by the NLU and the dialogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

RoutingIntent = Literal["payment", "delivery", "discount", "opt_out", "other"]
ROUTING_INTENTS: tuple[RoutingIntent, ...] = ("payment", "delivery", "discount", "opt_out", "other")
# Below this model confidence a reply gets the clarifying question (NUDGE_NLU_THRESHOLD's
# default, chosen on the dev sets: nlu/README.md)
DEFAULT_THRESHOLD = 0.15
# rule: deterministic (stop word, digit, button, yes/no); model: Rasa; threshold: model below
# the confidence threshold; unavailable: the NLU server is down (route to an operator).
Source = Literal["rule", "model", "threshold", "unavailable"]


@dataclass(frozen=True, slots=True)  # one per shopper message
class Classification:
    intent: RoutingIntent
    confidence: float
    source: Source
    # finer detail: "yes" / "no" / a button payload / the model's fine-grained intent
    detail: str | None = None
    redacted_text: str = ""
    card_data_removed: bool = False


class Classifier(Protocol):
    """The live path: redaction → deterministic rules → Rasa → threshold."""

    async def classify(
        self, text: str, offered: Mapping[str, str] | None = None
    ) -> Classification: ...
