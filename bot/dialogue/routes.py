"""The dialogue's router: each classified message goes to the first route whose predicate
holds, and that route's handler answers it (R-RP1 … R-RP7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dialogue.handlers import flows, handoff, operator_chat, stop, welcome
from bot.dialogue.reading import Readable, Reading
from bot.dialogue.turn import Decision, Turn
from bot.dialogue.understanding import typed_command
from flows.replies import WELCOME_PAYLOAD, ReplyBook, ReplyFlow
from nlu.intents import fine_of
from nlu.types import Classification

Predicate = Callable[[Readable], bool]
RouteHandler = Callable[[Turn], Awaitable[Decision]]
FlowPicker = Callable[[Readable], ReplyFlow | None]


@dataclass(frozen=True)
class Route:
    name: str
    applies: Predicate
    handle: RouteHandler
    # the reply flow this route answers with; None: no flow answers (operator, hand-off rule)
    flow: FlowPicker | None = None


def operator_owns_chat(read: Readable) -> bool:
    return read.held_by_operator


def asks_to_stop(read: Readable) -> bool:
    return read.asks_to_stop and "opt_out" in read.book.flows


def writes_first(read: Readable) -> bool:
    """A shopper's first message gets the welcome unless it is a command, a button, about an
    order, or a matter for a person (R-RP7)."""
    if not read.first or WELCOME_PAYLOAD not in read.book.by_payload:
        return False
    c = read.classification
    if read.by_rule and c.detail in read.book.by_payload:
        return False
    if fine_of(c) == "where_is_my_order":
        return False
    return read.handoff_reason in (None, "nlu_unavailable")


def needs_a_person(read: Readable) -> bool:
    return read.handoff_reason is not None


def is_quick_reply(read: Readable) -> bool:
    return flows.payload_flow(read) is not None


def answers_yes_or_no(read: Readable) -> bool:
    return flows.answer_flow(read) is not None


def has_fine_flow(read: Readable) -> bool:
    return flows.fine_flow(read) is not None


def always(read: Readable) -> bool:
    return True


# First match wins.
ROUTES: tuple[Route, ...] = (
    Route("an operator owns the chat", operator_owns_chat, operator_chat.store_for_operator),
    Route("stop word or stop button", asks_to_stop, stop.opt_out, stop.stop_flow),
    Route("first contact", writes_first, welcome.welcome, welcome.welcome_flow),
    Route("hand-off rule or NLU down", needs_a_person, handoff.by_rule),
    Route(
        "quick reply: button, digit, title, command",
        is_quick_reply,
        flows.quick_reply,
        flows.payload_flow,
    ),
    Route("yes / no", answers_yes_or_no, flows.yes_or_no, flows.answer_flow),
    Route(
        "fine intent: decline, already paid, thanks…",
        has_fine_flow,
        flows.fine_intent,
        flows.fine_flow,
    ),
    Route("routing intent", always, flows.routing_intent, flows.intent_flow),
)


def route_for(read: Readable) -> Route:
    return next(r for r in ROUTES if r.applies(read))


async def dispatch(turn: Turn) -> Decision:
    """Route the message once and let that route's handler answer it."""
    return await route_for(turn).handle(turn)


def answering_flow(read: Readable) -> ReplyFlow | None:
    """The reply flow the dialogue answers this message with; None when no flow does (an
    operator holds the chat, a hand-off rule matched)."""
    route = route_for(read)
    return route.flow(read) if route.flow is not None else None


def asks_to_clarify(book: ReplyBook, c: Classification) -> bool:
    """Whether a reply in a chat the bot holds gets the clarifying question (R-RP3): the
    "misunderstood" of R-RP8. A typed command is read as the dialogue reads it, first."""
    flow = answering_flow(Reading(typed_command(c.redacted_text) or c, book))
    return flow is not None and flow.do == "clarify"
