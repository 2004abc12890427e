"""The built-in things a reply flow can do (`do:` in flows/replies/*.yml), in one transaction.

Each action returns the messages to send; side effects (consent, chains, memory) join the
caller's transaction so they commit together with the stored inbound message.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.base import OutboundMessage
from bot.dialogue import chat_answers, shop_answers
from bot.dialogue.chat_answers import SAID_NOT_FOR_US
from bot.dialogue.flow_call import FlowAction, FlowCall, HandedOver
from bot.dialogue.order_status import answer_order_status
from bot.dialogue.satisfaction import HELPED, HELPFUL
from bot.touches.control import pause_chains, stop_chains

# `do: handoff` flows never get here: the router hands them to an operator.
ACTIONS: Mapping[str, FlowAction] = {
    "payment_help": shop_answers.payment_help,
    "delivery_info": shop_answers.delivery_info,
    "discount_check": shop_answers.discount_check,
    "resume": shop_answers.resume,
    "decline": chat_answers.about_the_checkout,
    "welcome": chat_answers.reply_only,
    "introduce": chat_answers.introduce,
    "not_for_us": chat_answers.not_for_us,
    "acknowledge": chat_answers.acknowledge,
    "postpone": chat_answers.about_the_checkout,
    "clarify": chat_answers.clarify,
    "rate": chat_answers.rate,
    "already_paid": chat_answers.already_paid,
    "opt_out": chat_answers.opt_out,
    "order_status": answer_order_status,
}
# What a flow's `chains: stop` records as the stop reason.
_STOP_REASONS = {"opt_out": "opt_out", "decline": "negative"}


async def run_flow(call: FlowCall) -> tuple[list[OutboundMessage], dict[str, object] | None]:
    """Do what the flow says; what to send and the audit detail of the reply (None when the
    action handed the chat to an operator instead)."""
    flow, conversation, ctx = call.flow, call.conversation, call.ctx
    call.detail.update({"flow": flow.name, "do": flow.do})
    action = ACTIONS.get(flow.do)
    answered = await action(call) if action is not None else []
    if isinstance(answered, HandedOver):
        return answered.replies, None
    if flow.do != "clarify":
        conversation.misunderstood = 0
    if flow.do in HELPFUL and answered:  # what a thank-you later rates (R-MX4)
        conversation.memory = {HELPED: ctx.now.isoformat(), **(conversation.memory or {})}
    for do, said in (("acknowledge", "acknowledged"), ("not_for_us", SAID_NOT_FOR_US)):
        if flow.do == do or (conversation.memory or {}).get(said):
            conversation.memory = {**(conversation.memory or {}), said: flow.do == do}
    if flow.chains == "pause":
        await pause_chains(call.session, ctx.contact.id, "reply", ctx.now)
    elif flow.chains == "stop":
        reason = _STOP_REASONS.get(flow.do, "reply")
        await stop_chains(call.session, ctx.contact.id, reason, ctx.now)
    return answered, {**call.detail, "texts": [m.text for m in answered]}
