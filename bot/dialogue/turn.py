"""What travels through the dialogue's pipeline for one inbound message, stage by stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import InboundMessage, OutboundMessage
from bot.dialogue.context import ReplyContext
from bot.dialogue.reading import Reading
from bot.store.models import Contact, Conversation
from flows.replies import ReplyBook
from handoff.queue import OPERATOR_STATES
from nlu.types import Classification

HandledBy = Literal["bot", "operator"]


@dataclass(frozen=True)
class Incoming:
    """A message from a known contact (`first`: the contact was created for it)."""

    message: InboundMessage
    contact: Contact
    first: bool
    started: float  # time.perf_counter() when the message reached the dialogue


@dataclass(frozen=True)
class Understood:
    """An incoming message with its one classification, the reply book and the moment it is
    answered with."""

    incoming: Incoming
    classification: Classification
    book: ReplyBook
    now: datetime


@dataclass
class Turn:
    """A classified message inside the transaction that stores it: what routes read."""

    understood: Understood
    session: AsyncSession
    conversation: Conversation
    ctx: ReplyContext

    @property
    def message(self) -> InboundMessage:
        return self.understood.incoming.message

    @property
    def classification(self) -> Classification:
        return self.understood.classification

    @property
    def book(self) -> ReplyBook:
        return self.ctx.book

    @property
    def first(self) -> bool:
        return self.understood.incoming.first

    @property
    def held_by_operator(self) -> bool:
        return self.conversation.state in OPERATOR_STATES

    @cached_property
    def reading(self) -> Reading:
        """The message read against the designer files, as the routes decide on it."""
        return Reading(
            self.classification,
            self.book,
            typed=self.message.button_payload is None,
            first=self.first,
            held_by_operator=self.held_by_operator,
        )


@dataclass(frozen=True)
class Note:
    """An audit entry a route asks for (R-PS4): the rule and what it did."""

    rule: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """A route's answer: what to send, the intent it was understood as, what became of it."""

    replies: Sequence[OutboundMessage]
    intent: str
    outcome: str
    thanked: bool = False  # the shopper thanked the bot: it may ask how it helped (R-MX4)
    replied: Note | None = None


@dataclass(frozen=True)
class Stored:
    """The committed decision and the conversation's state; no decision for a redelivery."""

    decision: Decision | None
    state: str = "bot"


@dataclass(frozen=True)
class Handled:
    """What became of one inbound message."""

    contact_id: int | None
    intent: str | None
    handled_by: HandledBy
    message_ids: tuple[int, ...] = ()
    state: str = "bot"
    outcome: str = ""
