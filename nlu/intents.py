"""The one place where the model's intents are mapped onto the five routing intents."""

from __future__ import annotations

from nlu.types import ROUTING_INTENTS, RoutingIntent

# Fine-grained intents the training data may use, each mapped onto a routing intent.
# (The shipped data trains the five routing intents directly; add finer ones here.)
FINE_INTENTS: dict[str, RoutingIntent] = {
    "nlu_fallback": "other",
}


def to_routing(intent: str | None) -> RoutingIntent:
    """Map a model intent (fine or routing) onto one of the five routing intents."""
    if intent in ROUTING_INTENTS:
        return intent
    if intent is not None and intent in FINE_INTENTS:
        return FINE_INTENTS[intent]
    return "other"


def known_intents() -> set[str]:
    """Every intent name the training data and domain.yml may declare."""
    return set(ROUTING_INTENTS) | (set(FINE_INTENTS) - {"nlu_fallback"})
