"""Answers from the shop's settings and the shopper's checkout: payment, delivery, discount,
the way back to the checkout (R-RP3)."""

from __future__ import annotations

from bot.channels.base import OutboundMessage
from bot.dialogue.context import delivery_text, localized, matching_promotion
from bot.dialogue.flow_call import FlowCall


async def payment_help(call: FlowCall) -> list[OutboundMessage]:
    """The shop's payment methods and a fresh pay link."""
    ctx, flow = call.ctx, call.flow
    lang, fallback = ctx.language, ctx.default_language
    checkout = ctx.checkout
    link = (checkout.pay_url or checkout.resume_url) if checkout else None
    methods = ", ".join(localized(m.title, lang, fallback) for m in ctx.book.shop.payment_methods)
    template = flow.reply if link or not flow.reply_otherwise else flow.reply_otherwise
    return [call.reply(template, methods=methods, link=link or "")]


async def delivery_info(call: FlowCall) -> list[OutboundMessage]:
    """Delivery options and terms from shop settings."""
    ctx, shop = call.ctx, call.ctx.book.shop
    lang, fallback = ctx.language, ctx.default_language
    options = "; ".join(delivery_text(o, shop, lang, fallback) for o in shop.delivery_options)
    terms = localized(shop.delivery_terms, lang, fallback) if shop.delivery_terms else ""
    return [call.reply(call.flow.reply, options=options, terms=terms)]


async def discount_check(call: FlowCall) -> list[OutboundMessage]:
    """A promotion the checkout qualifies for; never an invented one."""
    ctx, flow = call.ctx, call.flow
    promo = matching_promotion(ctx.book.shop, ctx.checkout, ctx.now)
    call.detail["promotion"] = promo.code if promo else None
    if promo is None:
        return [call.reply(flow.reply_otherwise or flow.reply)]
    title = localized(promo.title, ctx.language, ctx.default_language)
    return [call.reply(flow.reply, promo=title, code=promo.code)]


async def resume(call: FlowCall) -> list[OutboundMessage]:
    """The link back to the checkout."""
    flow, checkout = call.flow, call.ctx.checkout
    link = (checkout.resume_url or checkout.pay_url) if checkout else None
    template = flow.reply if link or not flow.reply_otherwise else flow.reply_otherwise
    return [call.reply(template, link=link or "")]
