"""A shopper who writes first (R-RP7): a contact with only the channel address.

Nothing else is stored: no name, no shop id beyond one derived from the address, no consent
(replying to a message needs none; touches still need an opt-in).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogue.context import find_contact
from bot.store.models import Contact


def _external_id(channel: str, address: str) -> str:
    # derived from the address without repeating it (the phone is stored once, in `phone`)
    digest = hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()[:24]
    return f"chat:{channel}:{digest}"


async def create_contact(
    session: AsyncSession, channel: str, address: str, language: str, now: datetime
) -> Contact:
    """The new contact for this address (or the one a concurrent message just created)."""
    phone = None if channel == "telegram" else "+" + address.strip().lstrip("+")
    contact = Contact(
        external_id=_external_id(channel, phone or address),
        phone=phone,
        telegram_chat_id=address if channel == "telegram" else None,
        language=language,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(contact)
            await session.flush()
    except IntegrityError:
        found = await find_contact(session, channel, address)
        if found is None:
            raise
        return found
    return contact
