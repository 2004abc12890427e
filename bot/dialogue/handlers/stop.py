"""A stop word or a stop button: the opt-out flow (R-SR1, R-RP3)."""

from __future__ import annotations

from bot.dialogue.handlers.flows import answer_with
from bot.dialogue.reading import Reading
from bot.dialogue.turn import Decision, Turn
from flows.replies import ReplyFlow


def stop_flow(read: Reading) -> ReplyFlow:
    return read.book.flows["opt_out"]


async def opt_out(turn: Turn) -> Decision:
    return await answer_with(turn, stop_flow(turn.reading))
