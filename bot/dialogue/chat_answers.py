"""Answers about the conversation itself: decline, thanks, later, welcome, who writes and why,
a clarifying question, a rating, "already paid", opt-out (R-RP3, R-RP6, R-RP7, R-MX4)."""

from __future__ import annotations

from dataclasses import replace

from bot.channels.base import OutboundMessage
from bot.dialogue.context import touch_quick_replies
from bot.dialogue.flow_call import FlowCall
from bot.dialogue.opting_out import opt_out as revoke_everything
from bot.dialogue.paid_checks import plan_check
from bot.dialogue.satisfaction import record_answer, score_of
from flows.replies import WELCOME_PAYLOAD

# conversation.memory: the last answer told the shopper the message was not meant for us
SAID_NOT_FOR_US = "said_not_for_us"


async def reply_only(call: FlowCall) -> list[OutboundMessage]:
    """The flow's reply and nothing else (welcome)."""
    return [call.reply(call.flow.reply)]


async def about_the_checkout(call: FlowCall) -> list[OutboundMessage]:
    """The flow's reply when a checkout is open, else its `reply_otherwise`: a decline or a
    "later" from a shopper without one has no order to speak of (decline, postpone)."""
    checkout = call.ctx.checkout
    if checkout is not None and checkout.status == "open":
        return [call.reply(call.flow.reply)]
    return [call.reply(call.flow.reply_otherwise or call.flow.reply)]


async def introduce(call: FlowCall) -> list[OutboundMessage]:
    """Who writes and why: the shop and the checkout left unfinished, with the quick replies the
    last touch offered; without an open checkout, what the bot can do, with the welcome's."""
    ctx, flow = call.ctx, call.flow
    shop = ctx.book.shop.name
    if ctx.checkout is not None and ctx.checkout.status == "open":
        answer = call.reply(flow.reply, shop=shop)
        offered = await touch_quick_replies(call.session, ctx.contact.id)
    else:
        answer = call.reply(flow.reply_otherwise or flow.reply, shop=shop)
        welcome = ctx.book.by_payload.get(WELCOME_PAYLOAD)
        offered = call.reply(welcome.reply).buttons if welcome and welcome.reply else ()
    call.detail["quick_replies"] = [b.payload for b in offered or answer.buttons]
    return [replace(answer, buttons=offered or answer.buttons)]


async def not_for_us(call: FlowCall) -> list[OutboundMessage]:
    """A message meant for someone else: say so with who writes, once; the next in a row (a
    chat with mum sent here) gets no answer."""
    if (call.conversation.memory or {}).get(SAID_NOT_FOR_US):
        return []
    return await introduce(call)


async def acknowledge(call: FlowCall) -> list[OutboundMessage]:
    """One short answer to a thank-you; a thank-you for the thank-you gets none."""
    if (call.conversation.memory or {}).get("acknowledged"):
        return []
    return [call.reply(call.flow.reply)]


async def clarify(call: FlowCall) -> list[OutboundMessage]:
    """One clarifying question; the next misunderstanding goes to an operator."""
    call.conversation.misunderstood = (call.conversation.misunderstood or 0) + 1
    return [call.reply(call.flow.reply)]


async def rate(call: FlowCall) -> list[OutboundMessage]:
    """A 1–5 answer to the satisfaction question; a late or second one changes nothing."""
    score = score_of(call.payload)
    ctx = call.ctx
    rated = await record_answer(call.session, ctx.contact.id, score, ctx.now) if score else None
    call.detail["score"] = rated.score if rated is not None else None
    return [call.reply(call.flow.reply)] if rated is not None else []


async def already_paid(call: FlowCall) -> list[OutboundMessage]:
    """A check of the payment in a while, then maybe an operator."""
    ctx = call.ctx
    planned = await plan_check(call.session, ctx.contact.id, ctx.checkout, ctx.now)
    call.detail["paid_check"] = planned
    return [call.reply(call.flow.reply)]


async def opt_out(call: FlowCall) -> list[OutboundMessage]:
    """Confirm once: a second STOP changes nothing and gets no answer."""
    had_consent = await revoke_everything(call.session, call.ctx, call.channel, announce=True)
    memory = dict(call.conversation.memory or {})
    out = [call.reply(call.flow.reply)] if had_consent or "opted_out_at" not in memory else []
    memory["opted_out_at"] = call.ctx.now.isoformat()
    call.conversation.memory = memory
    return out
