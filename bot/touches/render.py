"""The text of one touch: 1 item, 1 amount, 1 action (R-PZ1), never timestamps or codes (R-PZ2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.channels.base import OutboundMessage
from bot.dialogue.context import matching_promotion
from bot.touches.policy import Context
from flows.loader import STOP_HINTS, FlowSet
from flows.model import Step
from flows.templates import render

PROMOTION = "{promotion}"  # filled with the title of the shop's promotion for this checkout
# When the shop did not give a first name, the message opens with a greeting instead.
GREETINGS = {"ru": "Здравствуйте", "en": "Hello", "pl": "Dzień dobry", "zh": "您好"}
YOUR_ORDER = {"ru": "ваш заказ", "en": "your order", "pl": "Twoje zamówienie", "zh": "您的订单"}
STOP_LINES = {
    "ru": "Ответьте СТОП, чтобы отписаться.",
    "en": "Reply STOP to opt out.",
    "pl": "Odpisz STOP, aby się wypisać.",
    "zh": "回复“退订”即可取消。",
}


def money(total: Decimal | None, currency: str | None) -> str:
    """`6 860 RUB`, `12.50 EUR`: thin grouping, no kopecks when there are none."""
    if total is None:
        return ""
    text = f"{total:,.0f}" if total == total.to_integral_value() else f"{total:,.2f}"
    return f"{text.replace(',', ' ')} {currency or ''}".strip()


def segment_of(ctx: Context, step_name: str) -> str | None:
    """The stage (R-FL4) or, for order-status touches, the shop status in the step name."""
    if ":" in step_name:
        return step_name.split(":", 1)[1]
    return ctx.checkout.stage if ctx.checkout is not None else None


def render_touch(
    ctx: Context,
    step: Step,
    step_name: str,
    flows: FlowSet,
    default_language: str,
    *,
    template: bool,
    now: datetime,
    template_key: str | None = None,
) -> OutboundMessage | None:
    """The message of the touch of `step` named `step_name` (an order-status step carries the
    shop status after a colon), or None when no template fits; `template`: it must go as a
    WhatsApp template (outside the 24-hour window)."""
    segment = segment_of(ctx, step_name)
    key = template_key or step.template_for(ctx.chain.variant, segment)
    if key is None or key not in flows.templates.by_name:
        return None
    language = ctx.contact.language or default_language
    variant = flows.templates.get(key, language, default_language)
    checkout = ctx.checkout
    promotion = ""
    if PROMOTION in variant.text:  # an incentive: only a promotion the shop runs (R-PZ1)
        promo = matching_promotion(flows.shop, checkout, now)
        plain = step.template_for(None, segment)
        if promo is None and (plain is None or plain == key):
            return None
        if promo is None:
            assert plain is not None
            variant = flows.templates.get(plain, language, default_language)
        else:
            promotion = promo.title.get(variant.language) or next(iter(promo.title.values()))
    if template and not variant.whatsapp_template:
        return None
    order_id = ctx.chain.order_id or (checkout.order_id if checkout is not None else None) or ""
    link = ""
    if step.link:  # `{review_link}`: the shop's review page, for this order
        filled = {"review_link": flows.shop.review_link or "", "order_id": order_id}
        link = render(render(step.link, filled), filled)
        if not link:
            return None  # the shop has no such page: nothing to ask for
    elif checkout is not None:
        link = (checkout.pay_url if ctx.flow.is_payment else None) or checkout.resume_url or ""
    values = {
        "first_name": ctx.contact.first_name or GREETINGS.get(variant.language, ""),
        "item": (checkout.top_item if checkout is not None else None)
        or YOUR_ORDER.get(variant.language, ""),
        "total": money(checkout.total, checkout.currency) if checkout is not None else "",
        "link": link,
        "order_id": order_id,
        "delivery": (checkout.delivery_method if checkout is not None else None) or "",
        "promotion": promotion,
    }
    text = render(variant.text, values)
    if STOP_HINTS[variant.language] not in text:  # every proactive message says how (R-SR8)
        text = f"{text} {STOP_LINES[variant.language]}"
    return OutboundMessage(
        text=text,
        buttons=variant.buttons,
        template=variant.whatsapp_template if template else None,
        template_params=(values["first_name"], values["item"], values["total"], values["link"]),
        language=variant.language,
    )
