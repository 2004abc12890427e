"""A STOP from a number reaches every contact record holding that number (R-SR1, R-SR5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bot.app_keys import SESSIONS
from bot.store.models import Consent, Contact
from tests.dialogue_fixtures import say
from tests.touches_fixtures import Shop

Client = Any


async def test_stop_silences_every_contact_with_that_phone(client: Client) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.start("c2", kid="k2")
    async with client.app[SESSIONS].begin() as session:  # an older record stored digits only
        await session.execute(
            update(Contact).where(Contact.external_id == "c1").values(phone="79161234567")
        )
    await shop.advance(minutes=1)  # c2 is now the most recently updated record of the number
    result = await say(client, "СТОП")
    assert result["intent"] == "opt_out"
    await shop.advance(days=3)
    assert await shop.outbox("c1") == [] and await shop.outbox("c2") == []
    async with client.app[SESSIONS]() as session:
        open_consents = (
            await session.scalars(select(Consent.id).where(Consent.revoked_at.is_(None)))
        ).all()
    assert open_consents == []


async def test_stop_leaves_other_numbers_alone(client: Client) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.start("c3", kid="k3", phone="+79167654321")
    await say(client, "СТОП")
    await shop.advance(days=3)
    assert await shop.outbox("c1") == []
    assert len(await shop.outbox("c3")) >= 1
