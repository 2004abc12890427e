"""`/start <token>`: bind the Telegram chat to the contact and record the Telegram opt-in."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from bot.api.keys import bearer_token
from bot.api.openapi import Operation, document
from bot.api.schemas import ErrorBody
from bot.app_keys import KEYRING
from bot.audit import audit
from bot.channels.base import InboundMessage
from bot.channels.telegram_link import deep_link, make_token, read_token
from bot.clock import Clock
from bot.store.db import SessionFactory
from bot.store.models import Consent, Contact

log = logging.getLogger(__name__)

CONSENT_SOURCE = "telegram_deep_link"


def link_secret(session_secret: str, telegram_secret: str) -> str:
    return session_secret or telegram_secret


async def bind_chat(
    sessions: SessionFactory, clock: Clock, secret: str, item: InboundMessage
) -> bool:
    """True when the message was a /start command (consumed here, whatever its token)."""
    if item.channel != "telegram" or "start_token" not in item.extra:
        return False
    contact_id = read_token(item.extra["start_token"], secret)
    if contact_id is None:
        log.warning("telegram /start with a missing or invalid link token")
        return True
    now = clock.now()
    async with sessions.begin() as session:
        contact = await session.get(Contact, contact_id)
        if contact is None:
            log.warning("telegram /start for a contact that no longer exists")
            return True
        contact.telegram_chat_id = item.address
        contact.updated_at = now
        active = await session.scalar(
            select(Consent.id).where(
                Consent.contact_id == contact_id,
                Consent.channel == "telegram",
                Consent.revoked_at.is_(None),
            )
        )
        if active is None:
            session.add(
                Consent(
                    contact_id=contact_id,
                    channel="telegram",
                    purpose="recovery",
                    source=CONSENT_SOURCE,
                    text_shown="/start from the shop's Telegram link",
                    text_version="deep-link-1",
                    granted_at=now,
                )
            )
        audit(
            session,
            at=now,
            action="consent_granted",
            contact_id=contact_id,
            rule="R-SR1 consent",
            detail={"channel": "telegram", "source": CONSENT_SOURCE, "new": active is None},
        )
    log.info("telegram chat bound to contact %d", contact_id)
    return True


class TelegramLink(BaseModel):
    contact_id: str
    url: str
    token: str


async def get_telegram_link(request: web.Request) -> web.Response:
    """`GET /api/v1/contacts/{id}/telegram-link`: the shop shows this link to the shopper."""
    from bot.channels.keys import LINK_CONFIG

    shop = await request.app[KEYRING].shop_for(bearer_token(request.headers.get("Authorization")))
    if shop is None:
        return web.json_response({"error": "missing or wrong API key"}, status=401)
    external_id = request.match_info["id"]
    config = request.app[LINK_CONFIG]
    async with config.sessions() as session:
        contact_id = await session.scalar(
            select(Contact.id).where(Contact.shop == shop, Contact.external_id == external_id)
        )
    if contact_id is None:
        return web.json_response({"error": "contact: not found"}, status=404)
    link = TelegramLink(
        contact_id=external_id,
        url=deep_link(config.bot_username, contact_id, config.secret),
        token=make_token(contact_id, config.secret),
    )
    return web.json_response(link.model_dump())


document(
    Operation(
        path="/api/v1/contacts/{id}/telegram-link",
        method="GET",
        summary="A t.me deep link that binds the shopper's Telegram chat and records consent.",
        responses={"200": TelegramLink, "401": ErrorBody, "404": ErrorBody},
        parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    )
)
