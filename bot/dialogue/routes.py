"""The dialogue's router: each classified message goes to the first route whose predicate
holds, and that route's handler answers it (R-RP1 … R-RP7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dialogue.handlers import flows, handoff, operator_chat, stop, welcome
from bot.dialogue.reading import Reading
from bot.dialogue.turn import Decision, Turn
from bot.dialogue.understanding import typed_command
from flows.replies import WELCOME_PAYLOAD, ReplyBook, ReplyFlow
from nlu.intents import fine_of
from nlu.types import Classification

Predicate = Callable[[Reading], bool]
RouteHandler = Callable[[Turn], Awaitable[Decision]]
FlowPicker = Callable[[Reading], ReplyFlow | None]


@dataclass(frozen=True)
class Route:
    name: str
    handle: RouteHandler
    # the reply flow this route answers with; None: no flow answers (operator, hand-off rule)
    flow: FlowPicker | None = None
    # when the route takes a message; None: whenever its flow picks one
    applies: Predicate | None = None

    def takes(self, read: Reading) -> bool:
        if self.applies is not None:
            return self.applies(read)
        return self.flow is not None and self.flow(read) is not None


def operator_owns_chat(read: Reading) -> bool:
    return read.held_by_operator


def asks_to_stop(read: Reading) -> bool:
    return read.asks_to_stop and "opt_out" in read.book.flows


def writes_first(read: Reading) -> bool:
    """A shopper's first message gets the welcome unless it is a command, a button, about an
    order, meant for someone else (its answer says who writes, with the welcome's quick
    replies), or a matter for a person (R-RP7)."""
    if not read.first or WELCOME_PAYLOAD not in read.book.by_payload:
        return False
    c = read.classification
    if read.by_rule and c.detail in read.book.by_payload:
        return False
    if fine_of(c) in ("where_is_my_order", "wrong_chat"):
        return False
    return read.handoff_reason in (None, "nlu_unavailable")


def needs_a_person(read: Reading) -> bool:
    return read.handoff_reason is not None


# First match wins.
ROUTES: tuple[Route, ...] = (
    Route(
        "an operator owns the chat", operator_chat.store_for_operator, applies=operator_owns_chat
    ),
    Route("stop word or stop button", stop.opt_out, stop.stop_flow, asks_to_stop),
    Route("first contact", welcome.welcome, welcome.welcome_flow, writes_first),
    Route("hand-off rule or NLU down", handoff.by_rule, applies=needs_a_person),
    Route("quick reply: button, digit, title, command", flows.quick_reply, flows.payload_flow),
    Route("yes / no", flows.yes_or_no, flows.answer_flow),
    Route("fine intent: decline, already paid, thanks…", flows.fine_intent, flows.fine_flow),
    Route("routing intent", flows.routing_intent, flows.intent_flow),
)


def route_for(read: Reading) -> Route:
    return next(r for r in ROUTES if r.takes(read))


async def dispatch(turn: Turn) -> Decision:
    """Route the message once and let that route's handler answer it."""
    return await route_for(turn.reading).handle(turn)


def answering_flow(read: Reading) -> ReplyFlow | None:
    """The reply flow the dialogue answers this message with; None when no flow does (an
    operator holds the chat, a hand-off rule matched)."""
    route = route_for(read)
    return route.flow(read) if route.flow is not None else None


def asks_to_clarify(book: ReplyBook, c: Classification) -> bool:
    """Whether a reply in a chat the bot holds gets the clarifying question (R-RP3): the
    "misunderstood" of R-RP8. A typed command is read as the dialogue reads it, first."""
    flow = answering_flow(Reading(typed_command(c.redacted_text) or c, book))
    return flow is not None and flow.do == "clarify"
