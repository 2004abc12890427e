"""The built-in things a reply flow can do (`do:` in flows/replies/*.yml), in one transaction.

Each returns the messages to send; side effects (consent, chains, audit) join the caller's
transaction so they commit together with the stored inbound message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import revoke_consent
from bot.audit import audit
from bot.channels.base import OutboundMessage
from bot.dialogue.context import (
    ReplyContext,
    contacts_at,
    delivery_text,
    localized,
    matching_promotion,
    operator_hours_open,
    operator_hours_text,
)
from bot.dialogue.order_status import last_order_status, says_late_or_lost
from bot.dialogue.paid_checks import plan_check
from bot.dialogue.satisfaction import HELPED, HELPFUL, record_answer, score_of
from bot.store.models import Consent, Conversation
from flows.replies import ReplyFlow
from handoff.queue import chain_control, escalate


async def pause_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    pause = chain_control("pause_chains")
    if pause is not None:
        await pause(session, contact_id, reason, now)


async def stop_chains(session: AsyncSession, contact_id: int, reason: str, now: datetime) -> None:
    stop = chain_control("stop_chains")
    if stop is not None:
        await stop(session, contact_id, reason, now)


async def opt_out(
    session: AsyncSession, ctx: ReplyContext, channel: str, *, announce: bool
) -> bool:
    """Revoke every consent and stop every chain (R-SR1, R-SR5) of every contact record with
    the address that wrote; True when it was news."""
    contact = ctx.contact
    address = contact.telegram_chat_id if channel == "telegram" else contact.phone
    contact_ids = await contacts_at(session, channel, address) if address else []
    if contact.id not in contact_ids:
        contact_ids.append(contact.id)
    open_consents = await session.scalar(
        select(Consent.id)
        .where(Consent.contact_id.in_(contact_ids), Consent.revoked_at.is_(None))
        .limit(1)
    )
    for contact_id in contact_ids:
        revoked = await revoke_consent(session, contact_id, "all", ctx.now, f"reply via {channel}")
        await stop_chains(session, contact_id, "opt_out", ctx.now)
        audit(
            session,
            at=ctx.now,
            action="opted_out",
            contact_id=contact_id,
            rule="R-RP3 opt-out",
            detail={"channel": channel, "consents_revoked": revoked, "announced": announce},
        )
    return open_consents is not None


async def run_flow(
    session: AsyncSession,
    flow: ReplyFlow,
    ctx: ReplyContext,
    conversation: Conversation,
    channel: str,
    payload: str | None = None,
    text: str = "",
) -> list[OutboundMessage]:
    """Do what the flow says; return what to send (`text`: the shopper's, redacted)."""
    contact_id = ctx.contact.id
    shop = ctx.book.shop
    lang, fallback = ctx.language, ctx.default_language
    checkout = ctx.checkout
    detail: dict[str, object] = {"flow": flow.name, "do": flow.do}
    out: list[OutboundMessage] = []
    link = (checkout.pay_url or checkout.resume_url) if checkout else None
    if flow.do == "payment_help":
        methods = ", ".join(localized(m.title, lang, fallback) for m in shop.payment_methods)
        template = flow.reply if link or not flow.reply_otherwise else flow.reply_otherwise
        out.append(ctx.message(template or "", methods=methods, link=link or ""))
    elif flow.do == "delivery_info":
        options = "; ".join(delivery_text(o, shop, lang, fallback) for o in shop.delivery_options)
        terms = localized(shop.delivery_terms, lang, fallback) if shop.delivery_terms else ""
        out.append(ctx.message(flow.reply or "", options=options, terms=terms))
    elif flow.do == "discount_check":
        promo = matching_promotion(shop, checkout, ctx.now)
        detail["promotion"] = promo.code if promo else None
        if promo is not None:
            title = localized(promo.title, lang, fallback)
            out.append(ctx.message(flow.reply or "", promo=title, code=promo.code))
        else:
            out.append(ctx.message(flow.reply_otherwise or flow.reply or ""))
    elif flow.do == "resume":
        resume = (checkout.resume_url or checkout.pay_url) if checkout else None
        template = flow.reply if resume or not flow.reply_otherwise else flow.reply_otherwise
        out.append(ctx.message(template or "", link=resume or ""))
    elif flow.do == "decline":
        out.append(ctx.message(flow.reply or ""))
    elif flow.do == "rate":
        score = score_of(payload)
        rated = await record_answer(session, contact_id, score, ctx.now) if score else None
        detail["score"] = rated.score if rated is not None else None
        if rated is not None:
            out.append(ctx.message(flow.reply or ""))
    elif flow.do == "already_paid":
        detail["paid_check"] = await plan_check(session, contact_id, checkout, ctx.now)
        out.append(ctx.message(flow.reply or ""))
    elif flow.do == "acknowledge":
        # one short answer; a thank-you for the thank-you gets none
        if not (conversation.memory or {}).get("acknowledged"):
            out.append(ctx.message(flow.reply or ""))
    elif flow.do == "welcome":
        out.append(ctx.message(flow.reply or ""))
    elif flow.do == "order_status":
        order = await last_order_status(session, contact_id)
        if order is None or says_late_or_lost(text):
            conversation.misunderstood = 0
            status = order.order_status if order else None
            reason = flow.reason or "delivery_dispute"
            return await hand_off(session, ctx, reason, {"flow": flow.name, "status": status})
        template = flow.reply if order.tracking_url or not flow.reply_otherwise else None
        out.append(
            ctx.message(
                template or flow.reply_otherwise or "",
                status=order.order_status,
                tracking_url=order.tracking_url or "",
            )
        )
    elif flow.do == "clarify":
        conversation.misunderstood = (conversation.misunderstood or 0) + 1
        out.append(ctx.message(flow.reply or ""))
    elif flow.do == "opt_out":
        # Confirm once: a second STOP changes nothing and gets no answer.
        had_consent = await opt_out(session, ctx, channel, announce=True)
        memory = dict(conversation.memory or {})
        if had_consent or "opted_out_at" not in memory:
            out.append(ctx.message(flow.reply or ""))
        memory["opted_out_at"] = ctx.now.isoformat()
        conversation.memory = memory
    if flow.do != "clarify":
        conversation.misunderstood = 0
    if flow.do in HELPFUL and out:  # what a thank-you later rates (R-MX4)
        conversation.memory = {HELPED: ctx.now.isoformat(), **(conversation.memory or {})}
    if flow.do == "acknowledge" or (conversation.memory or {}).get("acknowledged"):
        conversation.memory = {
            **(conversation.memory or {}),
            "acknowledged": flow.do == "acknowledge",
        }
    if flow.chains == "pause":
        await pause_chains(session, contact_id, "reply", ctx.now)
    elif flow.chains == "stop":
        reason = {"opt_out": "opt_out", "decline": "negative"}.get(flow.do, "reply")
        await stop_chains(session, contact_id, reason, ctx.now)
    audit(
        session,
        at=ctx.now,
        action="replied",
        contact_id=contact_id,
        rule=f"R-RP3 {flow.name}",
        detail={**detail, "texts": [m.text for m in out]},
    )
    return out


async def hand_off(
    session: AsyncSession, ctx: ReplyContext, reason: str, detail: dict[str, object]
) -> list[OutboundMessage]:
    """Escalate and tell the shopper a person will answer (and when, after hours)."""
    await escalate(session, ctx.contact.id, reason, ctx.now, dict(detail))
    messages = ctx.book.messages
    if operator_hours_open(ctx.book.shop, ctx.now):
        return [ctx.message(messages.handoff)]
    return [ctx.message(messages.handoff_after_hours, hours=operator_hours_text(ctx.book.shop))]
