"""Hand-offs decided while routing: a designer's rule, a `do: handoff` flow, or a second
message in a row the bot did not understand (R-RP4)."""

from __future__ import annotations

from bot.dialogue.escalation import hand_off
from bot.dialogue.turn import Decision, Turn
from bot.touches.control import pause_chains
from flows.replies import ReplyFlow


async def by_rule(turn: Turn) -> Decision:
    """A hand-off rule matched (payload, the model's fine intent, wording) or the NLU is down."""
    c = turn.classification
    reason = turn.reading.handoff_reason
    assert reason is not None  # the route's predicate
    await pause_chains(turn.session, turn.ctx.contact.id, "reply", turn.ctx.now)
    detail: dict[str, object] = {"intent": c.intent, "source": c.source, "detail": c.detail}
    replies = await hand_off(turn.session, turn.ctx, reason, detail)
    return Decision(replies, c.intent, f"handoff:{reason}")


async def by_flow(turn: Turn, flow: ReplyFlow) -> Decision:
    """The flow the message chose is a hand-off (e.g. "talk to a manager")."""
    replies = await hand_off(turn.session, turn.ctx, flow.reason or "human_requested", {})
    return Decision(replies, turn.classification.intent, f"handoff:{flow.reason}")


async def misunderstood_twice(turn: Turn) -> Decision:
    """A clarifying question was asked already: a person takes over."""
    intent = turn.classification.intent
    replies = await hand_off(turn.session, turn.ctx, "misunderstood_twice", {"text_intent": intent})
    return Decision(replies, intent, "handoff:misunderstood_twice")
