"""Opting out from a reply (R-SR1, R-SR5): every consent revoked, every chain stopped."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.ingest import revoke_consent
from bot.audit import audit
from bot.dialogue.context import ReplyContext, contacts_at
from bot.store.models import Consent
from bot.touches.control import stop_chains


async def opt_out(
    session: AsyncSession, ctx: ReplyContext, channel: str, *, announce: bool
) -> bool:
    """Revoke every consent and stop every chain of every contact record with the address
    that wrote; True when it was news."""
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
