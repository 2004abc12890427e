"""What firing carries from stage to stage: a claimed touch, and a touch decided `send`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bot.channels.base import ChannelName, OutboundMessage, SendResult
from bot.outbound import SendItem
from bot.touches.policy import Context, Decision


@dataclass
class Due:
    """A claimed touch, as the plain values firing needs."""

    id: int
    chain_id: int
    contact_id: int
    flow: str
    step: str
    variant: str | None
    channel: str | None = None


@dataclass
class Job:
    """A touch decided `send`, from its chunk's `sending` commit to its outcome."""

    touch: Due
    ctx: Context
    decision: Decision
    message: OutboundMessage
    hooked: bool
    message_id: int | None = None  # its `messages` row, once written
    rule: str = ""
    result: SendResult | None = None  # None: no answer, the outcome is unknown

    def item(self) -> SendItem:
        """What the outbound door sends and records for this job."""
        channel = cast(ChannelName, self.touch.channel)
        return SendItem(self.ctx.contact, channel, self.message, touch_id=self.touch.id)
