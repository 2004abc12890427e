"""The one place where fine intents are mapped onto the five routing intents (R-RP6)."""

from __future__ import annotations

from nlu.types import ROUTING_INTENTS, Classification, RoutingIntent

# The intents the model is trained on, each under one routing intent. The dialogue answers
# by the fine intent (decline ≠ stop); routing, reports and the contract use the class.
FINE_INTENTS: dict[str, RoutingIntent] = {
    "stop": "opt_out",
    "decline": "opt_out",
    "already_paid": "payment",
    "payment": "payment",
    "where_is_my_order": "delivery",
    "delivery": "delivery",
    "discount": "discount",
    "thanks": "other",
    # "busy now, will look tonight", "need to ask my husband": put off, neither no nor a question
    "later": "other",
    "human": "other",
    # a question about the goods (size, material, stock): the bot cannot answer, a person can
    "product_question": "other",
    # "who is this? how did you get my number": the answer says who writes and why
    "who_is_this": "other",
    # "мам, купи хлеба", "oops, that was for my sister": meant for someone else, not a refusal
    "wrong_chat": "other",
    # "во сколько вы закрываетесь?", "are you hiring?": about the shop, not the goods or the order
    "shop_question": "other",
    "other": "other",
    "nlu_fallback": "other",
}
# The fine intent a bare routing label stands for (a gold label or a rule without detail).
DEFAULT_FINE: dict[RoutingIntent, str] = {
    "payment": "payment",
    "delivery": "delivery",
    "discount": "discount",
    "opt_out": "stop",
    "other": "other",
}


def to_routing(intent: str | None) -> RoutingIntent:
    """Map a model intent (fine or routing) onto one of the five routing intents."""
    if intent is not None and intent in FINE_INTENTS:
        return FINE_INTENTS[intent]
    if intent in ROUTING_INTENTS:
        return intent
    return "other"


def fine_intents() -> list[str]:
    """The fine intents, in declaration order (without Rasa's nlu_fallback)."""
    return [name for name in FINE_INTENTS if name != "nlu_fallback"]


def known_intents() -> set[str]:
    """Every intent name the training data, domain.yml and gold labels may use."""
    return set(ROUTING_INTENTS) | set(fine_intents())


def fine_of(result: Classification) -> str:
    """The fine intent of a classification: the model's or a rule's when it names one."""
    detail = result.detail or ""
    if result.source in ("model", "rule") and FINE_INTENTS.get(detail) == result.intent:
        return detail
    return DEFAULT_FINE[result.intent]
