"""A classified message read against the designer files, without the database: what the routes
decide on. The dialogue reads a `Turn` this way; the NLU evaluation reads a `Reading`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot.dialogue.handoff_rules import handoff_reason
from flows.replies import ReplyBook
from nlu.types import Classification


@dataclass(frozen=True)
class Reading:
    """One message: its classification, the reply book, and what is known of the chat."""

    classification: Classification
    book: ReplyBook
    typed: bool = True  # typed text, not a tapped button: only typed text meets wording rules
    first: bool = False  # the shopper's first message (R-RP7)
    held_by_operator: bool = False

    @property
    def by_rule(self) -> bool:
        return self.classification.source == "rule"

    @cached_property
    def asks_to_stop(self) -> bool:
        """A stop rule or a button whose flow opts out; a rule's decline keeps consent."""
        c = self.classification
        if c.intent == "opt_out" and self.by_rule and c.detail != "decline":
            return True
        button = self.book.by_payload.get(c.detail or "") if self.by_rule else None
        return button is not None and button.do == "opt_out"

    @cached_property
    def handoff_reason(self) -> str | None:
        """Why a person should take this message (R-RP4), or None."""
        return handoff_reason(self.book, self.classification, typed=self.typed)
