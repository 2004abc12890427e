"""The routing table (bot/dialogue/routes.py): each kind of message reaches its one route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import InboundMessage
from bot.dialogue.context import ReplyContext
from bot.dialogue.handoff_rules import handoff_reason
from bot.dialogue.routes import ROUTES, asks_to_clarify, route_for
from bot.dialogue.turn import Incoming, Turn, Understood
from bot.settings import PROJECT_ROOT
from bot.store.models import Contact, Conversation
from flows.replies import ReplyBook, load_reply_book
from nlu.types import Classification

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> ReplyBook:
    loaded, problems = load_reply_book(PROJECT_ROOT)
    assert loaded is not None, problems
    return loaded


def _turn(book: ReplyBook, c: Classification, *, state: str = "bot", first: bool = False) -> Turn:
    inbound = InboundMessage("whatsapp", "+79161234567", "m1", NOW, text=c.redacted_text)
    contact = Contact(id=1, phone="+79161234567", language="ru")
    understood = Understood(Incoming(inbound, contact, first, 0.0), c, book, NOW)
    ctx = ReplyContext(book, contact, None, "ru", "ru", NOW)
    conversation = Conversation(contact_id=1, state=state, misunderstood=0)
    return Turn(understood, cast(AsyncSession, None), conversation, ctx)


def _rule(detail: str, intent: Any = "other") -> Classification:
    return Classification(intent, 1.0, "rule", detail, detail)


def _model(fine: str, intent: Any, text: str) -> Classification:
    return Classification(intent, 0.9, "model", fine, text)


@pytest.mark.parametrize(
    ("classification", "state", "first", "route"),
    [
        (_rule("stop", "opt_out"), "waiting_operator", False, "an operator owns the chat"),
        (_rule("stop", "opt_out"), "bot", False, "stop word or stop button"),
        (_rule("unsubscribe"), "bot", False, "stop word or stop button"),
        (_model("payment", "payment", "как оплатить"), "bot", True, "first contact"),
        (_model("wrong_chat", "other", "мам, купи хлеба"), "bot", True,
         "fine intent: decline, already paid, thanks…"),
        (Classification("other", 0.0, "unavailable", None, "хм"), "bot", False,
         "hand-off rule or NLU down"),
        (_rule("manager"), "bot", False, "quick reply: button, digit, title, command"),
        (_rule("pay"), "bot", False, "quick reply: button, digit, title, command"),
        (_rule("status"), "bot", True, "quick reply: button, digit, title, command"),
        (_model("already_paid", "payment", "я уже оплатил"), "bot", False,
         "fine intent: decline, already paid, thanks…"),
        (_model("discount", "discount", "есть промокод?"), "bot", False, "routing intent"),
    ],
)  # fmt: skip
def test_each_kind_of_message_takes_its_route(
    book: ReplyBook, classification: Classification, state: str, first: bool, route: str
) -> None:
    assert route_for(_turn(book, classification, state=state, first=first).reading).name == route


def test_the_last_route_takes_everything_left(book: ReplyBook) -> None:
    assert ROUTES[-1].takes(
        _turn(book, Classification("other", 0.3, "threshold", None, "?")).reading
    )
    assert len({r.name for r in ROUTES}) == len(ROUTES)


def test_the_models_fine_intent_can_ask_for_a_person(book: ReplyBook) -> None:
    # no wording rule matches "hey you": the hand-off rule's fine_intents decide
    human = _model("human", "other", "hey you")
    assert handoff_reason(book, human, typed=True) == "human_requested"
    assert handoff_reason(book, _model("other", "other", "hey you"), typed=True) is None


@pytest.mark.parametrize(
    ("classification", "clarify"),
    [
        (_model("other", "other", "хм"), True),
        (Classification("other", 0.2, "threshold", "product_question", "какой размер?"), True),
        (_model("product_question", "other", "какой размер?"), False),  # a hand-off rule
        (_model("who_is_this", "other", "кто это?"), False),  # a fine intent's flow
        (_model("human", "other", "hey you"), False),
        (Classification("other", 0.2, "threshold", None, "позовите оператора"), False),  # wording
        (Classification("other", 0.2, "threshold", None, "/help"), False),  # a typed command
        (_rule("thanks"), False),
        (_rule("stop", "opt_out"), False),
        (Classification("other", 0.0, "unavailable", None, "хм"), False),  # an operator
    ],
)  # fmt: skip
def test_the_clarifying_question_is_what_the_router_answers_with(
    book: ReplyBook, classification: Classification, clarify: bool
) -> None:
    assert asks_to_clarify(book, classification) is clarify
