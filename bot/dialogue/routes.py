"""The dialogue's router: each classified message goes to the first route whose predicate
holds, and that route's handler answers it (R-RP1 … R-RP7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dialogue.handlers import flows, handoff, operator_chat, stop, welcome
from bot.dialogue.turn import Decision, Turn
from flows.replies import WELCOME_PAYLOAD
from handoff.queue import OPERATOR_STATES
from nlu.intents import fine_of

Predicate = Callable[[Turn], bool]
RouteHandler = Callable[[Turn], Awaitable[Decision]]


@dataclass(frozen=True)
class Route:
    name: str
    applies: Predicate
    handle: RouteHandler


def operator_owns_chat(turn: Turn) -> bool:
    return turn.conversation.state in OPERATOR_STATES


def asks_to_stop(turn: Turn) -> bool:
    return turn.asks_to_stop and "opt_out" in turn.book.flows


def writes_first(turn: Turn) -> bool:
    """A shopper's first message gets the welcome unless it is a command, a button, about an
    order, or a matter for a person (R-RP7)."""
    if not turn.first or WELCOME_PAYLOAD not in turn.book.by_payload:
        return False
    c = turn.classification
    if turn.by_rule and c.detail in turn.book.by_payload:
        return False
    if fine_of(c) == "where_is_my_order":
        return False
    return turn.handoff_reason in (None, "nlu_unavailable")


def needs_a_person(turn: Turn) -> bool:
    return turn.handoff_reason is not None


def is_quick_reply(turn: Turn) -> bool:
    return flows.payload_flow(turn) is not None


def answers_yes_or_no(turn: Turn) -> bool:
    return flows.answer_flow(turn) is not None


def has_fine_flow(turn: Turn) -> bool:
    return flows.fine_flow(turn) is not None


def always(turn: Turn) -> bool:
    return True


# First match wins.
ROUTES: tuple[Route, ...] = (
    Route("an operator owns the chat", operator_owns_chat, operator_chat.store_for_operator),
    Route("stop word or stop button", asks_to_stop, stop.opt_out),
    Route("first contact", writes_first, welcome.welcome),
    Route("hand-off rule or NLU down", needs_a_person, handoff.by_rule),
    Route("quick reply: button, digit, title, command", is_quick_reply, flows.quick_reply),
    Route("yes / no", answers_yes_or_no, flows.yes_or_no),
    Route("fine intent: decline, already paid, thanks…", has_fine_flow, flows.fine_intent),
    Route("routing intent", always, flows.routing_intent),
)


def route_for(turn: Turn) -> Route:
    return next(r for r in ROUTES if r.applies(turn))


async def dispatch(turn: Turn) -> Decision:
    """Route the message once and let that route's handler answer it."""
    return await route_for(turn).handle(turn)
