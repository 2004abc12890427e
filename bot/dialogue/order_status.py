"""Where is my order (R-RP6): the last status an `order.status_changed` gave the contact.

Only the contact the message came from is looked up (by their channel address), so nobody
can read another person's order. Late or lost, or no status at all: a delivery dispute.
The shop's status code is shown as its label in the shopper's language (flows/status_labels.py).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutboundMessage
from bot.dialogue.escalation import hand_off
from bot.dialogue.flow_call import FlowCall, HandedOver
from bot.store.models import Checkout
from flows.status_labels import status_label

# The shopper says the order is late or lost: an operator, whatever the status says.
LATE_OR_LOST = re.compile(
    "|".join(
        (
            r"\blate\b|\blost\b|delayed|overdue|been \d+ (days?|weeks?)|(it.?s|its) been|"
            r"still (not|hasn.?t|no)|never (arrived|came)|\d+ weeks?",
            r"опаздыв|задержива|задерж|потерял|потеряли|потерян|до сих пор|"
            r"(\d+|две|три|неделю|недели|месяц)\s*(дн|недел|месяц)|уже неделю|уже месяц",
            r"spóźni|spozni|opóźni|opozni|zaginęł|zaginel|zgubi|wciąż nie|wciaz nie|"
            r"(\d+|dwa|trzy) (dni|tygodni)|tydzień|tydzien",
            r"迟迟|延迟|晚了|丢了|丢失|还没到|还没收到|等了|一周|两周|一个月",
        )
    ),
    re.IGNORECASE,
)


def says_late_or_lost(text: str) -> bool:
    return bool(LATE_OR_LOST.search(text))


async def last_order_status(session: AsyncSession, contact_id: int) -> Checkout | None:
    """The contact's checkout with the most recent order status, if any."""
    statement = (
        select(Checkout)
        .where(Checkout.contact_id == contact_id, Checkout.order_status.is_not(None))
        .order_by(Checkout.updated_at.desc(), Checkout.id.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def answer_order_status(call: FlowCall) -> list[OutboundMessage] | HandedOver:
    """The last status and its tracking link; late, lost or unknown: an operator."""
    flow = call.flow
    order = await last_order_status(call.session, call.ctx.contact.id)
    if order is None or says_late_or_lost(call.text):
        call.conversation.misunderstood = 0
        status = order.order_status if order else None
        reason = flow.reason or "delivery_dispute"
        detail: dict[str, object] = {"flow": flow.name, "status": status}
        return HandedOver(await hand_off(call.session, call.ctx, reason, detail))
    template = flow.reply if order.tracking_url or not flow.reply_otherwise else None
    ctx = call.ctx
    shop_status = order.order_status or ""
    label = status_label(ctx.book.templates, shop_status, ctx.language, ctx.default_language)
    return [
        call.reply(
            template or flow.reply_otherwise,
            status=label,
            tracking_url=order.tracking_url or "",
        )
    ]
