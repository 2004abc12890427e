"""A chat an operator owns: the bot stores the message and stays silent (R-RP4)."""

from __future__ import annotations

from bot.dialogue.opting_out import opt_out
from bot.dialogue.turn import Decision, Turn


async def store_for_operator(turn: Turn) -> Decision:
    """Nothing is answered; a stop word still revokes consent at once (R-SR1)."""
    if turn.reading.asks_to_stop:
        await opt_out(turn.session, turn.ctx, turn.message.channel, announce=False)
    return Decision([], turn.classification.intent, "stored for the operator")
