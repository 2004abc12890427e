"""Messages answered by a reply flow (flows/replies/*.yml): the flow a route picked is run."""

from __future__ import annotations

from bot.dialogue.actions import run_flow
from bot.dialogue.flow_call import FlowCall
from bot.dialogue.handlers import handoff
from bot.dialogue.reading import Reading
from bot.dialogue.turn import Decision, Note, Turn
from flows.replies import ReplyFlow
from nlu.intents import fine_of


async def answer_with(turn: Turn, flow: ReplyFlow) -> Decision:
    """Run `flow` for this message; a hand-off flow, or a second clarification, escalates."""
    c = turn.classification
    if flow.do == "handoff":
        return await handoff.by_flow(turn, flow)
    if flow.do == "clarify" and (turn.conversation.misunderstood or 0) >= 1:
        return await handoff.misunderstood_twice(turn)
    call = FlowCall(
        turn.session,
        flow,
        turn.ctx,
        turn.conversation,
        turn.message.channel,
        payload=c.detail if turn.reading.by_rule else None,
        text=c.redacted_text,
    )
    replies, detail = await run_flow(call)
    # a rule's payload reports the routing intent its flow answers
    intent = flow.when.intents[0] if turn.reading.by_rule and flow.when.intents else c.intent
    replied = Note(f"R-RP3 {flow.name}", detail) if detail is not None else None
    return Decision(replies, intent, f"flow:{flow.name}", flow.do == "acknowledge", replied)


def payload_flow(read: Reading) -> ReplyFlow | None:
    """The flow a rule's payload starts (a button, its digit or title, a command)."""
    return read.book.by_payload.get(read.classification.detail or "") if read.by_rule else None


def answer_flow(read: Reading) -> ReplyFlow | None:
    """The flow a rule's yes / no answers."""
    detail = read.classification.detail
    if not read.by_rule or detail not in ("yes", "no"):
        return None
    return read.book.flow_for_answer(detail)


def fine_flow(read: Reading) -> ReplyFlow | None:
    """The flow of a rule's or the model's fine intent (decline, already_paid, thanks…)."""
    c = read.classification
    return read.book.flow_for_fine(fine_of(c)) if c.source in ("rule", "model") else None


def intent_flow(read: Reading) -> ReplyFlow:
    """The flow of the routing intent, else the one for `other`."""
    return read.book.flow_for_intent(read.classification.intent) or read.book.flows["other"]


async def quick_reply(turn: Turn) -> Decision:
    flow = payload_flow(turn.reading)
    assert flow is not None  # the route's predicate
    return await answer_with(turn, flow)


async def yes_or_no(turn: Turn) -> Decision:
    flow = answer_flow(turn.reading)
    assert flow is not None  # the route's predicate
    return await answer_with(turn, flow)


async def fine_intent(turn: Turn) -> Decision:
    flow = fine_flow(turn.reading)
    assert flow is not None  # the route's predicate
    return await answer_with(turn, flow)


async def routing_intent(turn: Turn) -> Decision:
    return await answer_with(turn, intent_flow(turn.reading))
