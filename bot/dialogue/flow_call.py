"""What a reply flow's action (`do:` in flows/replies/*.yml) is given and gives back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutboundMessage
from bot.dialogue.context import ReplyContext
from bot.store.models import Conversation
from flows.replies import ReplyFlow


@dataclass
class FlowCall:
    """One flow run for one message, in the transaction that stored the message."""

    session: AsyncSession
    flow: ReplyFlow
    ctx: ReplyContext
    conversation: Conversation
    channel: str
    payload: str | None = None  # a rule's detail: the button payload, "yes", "thanks"…
    text: str = ""  # the shopper's text, redacted
    detail: dict[str, object] = field(default_factory=dict)  # for the audit entry

    def reply(self, template: str | None, **extra: object) -> OutboundMessage:
        return self.ctx.message(template or "", **extra)


@dataclass(frozen=True)
class HandedOver:
    """The action gave the chat to an operator instead of answering."""

    replies: list[OutboundMessage]


FlowAction = Callable[[FlowCall], Awaitable[list[OutboundMessage] | HandedOver]]
