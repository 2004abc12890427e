"""WhatsApp → SMS fallback (R-SR7): the number has no WhatsApp, said at once or later in a
`failed` status. The number is remembered, the touch counts as failed, and the same step is
planned again on the next consented channel, through the whole policy (quiet hours, caps,
country rules), like every other touch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from bot.app_keys import CLOCK, FLOWS, SESSIONS, SETTINGS
from bot.audit import audit, audit_row
from bot.channels.base import StatusUpdate
from bot.channels.errors import NO_WHATSAPP
from bot.settings import Settings
from bot.store.models import Chain, Contact, Message, Touch
from bot.store.write_lock import write_lock_for
from bot.touches import reasons
from bot.touches.context import change_in_memory, load_context
from bot.touches.planning import Planning
from bot.touches.policy import Context, choose_channel
from flows.loader import FlowSet


def is_no_whatsapp(channel: str | None, outcome: str, error_code: str | None) -> bool:
    return channel == "whatsapp" and (outcome == "no_account" or error_code in NO_WHATSAPP)


def replacement(
    ctx: Context, touch_step: str, now: datetime, flows: FlowSet, settings: Settings
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The failed touch's step planned again for a contact without WhatsApp (its row, or
    None when no other channel has consent), and the audit entry."""
    change_in_memory(ctx.contact, whatsapp_missing_at=now)
    step = ctx.flow.step_named(touch_step)
    if step is None or choose_channel(ctx.flow, ctx) is None:
        return None, audit_row(ctx.chain, now, "skipped", reasons.NO_FALLBACK, {"step": touch_step})
    row, entry = Planning(settings, flows).touch_row(ctx, step, now, now, touch_step, "fallback")
    if row is not None and row["rule"] is None:
        entry["rule"] = reasons.FELL_BACK if row["channel"] == "sms" else entry["rule"]
    return row, entry


def status_listener(app: web.Application) -> Any:
    """A STATUS_LISTENERS entry: a later `failed` status saying the number has no WhatsApp."""

    async def on_status(update_: StatusUpdate, message_id: int) -> None:
        if update_.status != "failed" or not is_no_whatsapp(
            update_.channel, "failed", update_.error_code
        ):
            return
        sessions, now = app[SESSIONS], app[CLOCK].now()
        async with write_lock_for(sessions), sessions.begin() as session:
            message = await session.get(Message, message_id)
            if message is None:
                return
            await session.execute(
                update(Contact)
                .where(Contact.id == message.contact_id)
                .values(whatsapp_missing_at=now)
            )
            if message.touch_id is None:
                return
            failed = await session.execute(
                update(Touch)
                .where(
                    Touch.id == message.touch_id,
                    Touch.channel == "whatsapp",
                    Touch.status == "sent",
                )
                .values(status="failed", rule=reasons.UNDELIVERABLE)
                .returning(Touch.chain_id, Touch.step)
            )
            found = failed.first()
            if found is None:  # settled otherwise already, or fallen back before
                return
            chain_id, step = found
            audit(
                session,
                at=now,
                action="failed",
                contact_id=message.contact_id,
                chain_id=chain_id,
                touch_id=message.touch_id,
                rule=reasons.UNDELIVERABLE,
                detail={"step": step, "error_code": update_.error_code},
            )
            chain = await session.scalar(select(Chain).where(Chain.id == chain_id))
            flows = app[FLOWS].current
            if chain is None or chain.status != "active":
                return
            ctx = await load_context(session, chain, flows, now)
            if ctx is None:
                return
            row, entry = replacement(ctx, step, now, flows, app[SETTINGS])
            if row is not None:
                session.add(Touch(**row))
            audit(session, **entry)

    return on_status
