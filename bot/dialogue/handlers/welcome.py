"""A shopper who writes first (R-RP7): what the bot can do, as quick replies."""

from __future__ import annotations

from bot.dialogue.handlers.flows import answer_with
from bot.dialogue.reading import Reading
from bot.dialogue.turn import Decision, Turn
from flows.replies import WELCOME_PAYLOAD, ReplyFlow


def welcome_flow(read: Reading) -> ReplyFlow:
    return read.book.by_payload[WELCOME_PAYLOAD]


async def welcome(turn: Turn) -> Decision:
    return await answer_with(turn, welcome_flow(turn.reading))
