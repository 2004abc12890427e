"""`/start <token>`: bind the Telegram chat to the contact and record the Telegram opt-in.

A token binds once, before it expires, and never moves a contact or a chat that is already
bound elsewhere; every refusal gets a polite answer and binds nothing (R-PS5).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.keys import bearer_token
from bot.api.openapi import Operation, document
from bot.api.schemas import ErrorBody
from bot.app_keys import KEYRING, LINK_CONFIG
from bot.audit import audit
from bot.channels.base import InboundMessage
from bot.channels.telegram_link import LinkToken, LinkTokenError, deep_link, make_token, parse_token
from bot.clock import Clock
from bot.store.db import SessionFactory
from bot.store.models import Consent, Contact, TelegramLinkUse
from flows.templates import Templates

log = logging.getLogger(__name__)

CONSENT_SOURCE = "telegram_deep_link"
Outcome = Literal["bound", "forged", "expired", "used", "taken"]
# The domain.yml response answering each refusal (a successful bind stays silent).
ANSWERS: dict[Outcome, str] = {
    "forged": "utter_telegram_link_invalid",
    "expired": "utter_telegram_link_expired",
    "used": "utter_telegram_link_used",
    "taken": "utter_telegram_link_taken",
}
Reply = Callable[[str, str, str], Awaitable[None]]  # (chat id, text, language)
Answers = Callable[[], Templates]  # the texts of domain.yml as they stand now


def check_answers(templates: Templates) -> None:
    """Refuse to start without the refusals' answers."""
    missing = [name for name in ANSWERS.values() if name not in templates.by_name]
    if missing:
        raise RuntimeError(f"domain.yml lacks the Telegram link answers: {', '.join(missing)}")


@dataclass(eq=False)
class LinkBinder:
    """Handles `/start <token>` messages; `reply` sends the refusals' answers."""

    sessions: SessionFactory
    clock: Clock
    secret: str
    max_age: timedelta
    answers: Answers
    default_language: str
    reply: Reply | None

    async def __call__(self, item: InboundMessage) -> bool:
        """True when the message was a /start command (consumed here, whatever its token)."""
        if item.channel != "telegram" or "start_token" not in item.extra:
            return False
        outcome, language = await self.bind(item.extra["start_token"], item.address)
        if outcome != "bound":
            log.warning("telegram /start refused: %s link token", outcome)
            await self._answer(item.address, outcome, language)
        return True

    async def bind(self, raw_token: str, chat: str) -> tuple[Outcome, str]:
        """The outcome, and the language to answer in (the contact's when the token is ours)."""
        try:
            token = parse_token(raw_token, self.secret, self.clock.now(), self.max_age)
        except LinkTokenError as exc:
            return exc.reason, await self._language(exc.contact_id)
        try:
            return await self._bind(token, chat)
        except IntegrityError:  # the same token raced itself: the other use won
            return "used", self.default_language

    async def _language(self, contact_id: int | None) -> str:
        if contact_id is None:
            return self.default_language
        async with self.sessions() as session:
            language = await session.scalar(
                select(Contact.language).where(Contact.id == contact_id)
            )
        return language or self.default_language

    async def _bind(self, token: LinkToken, chat: str) -> tuple[Outcome, str]:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            contact = await session.get(Contact, token.contact_id)
            if contact is None:
                return "forged", self.default_language
            language = contact.language or self.default_language
            if await session.get(TelegramLinkUse, token.nonce) is not None:
                return "used", language
            other = await session.scalar(
                select(Contact.id)
                .where(
                    Contact.shop == contact.shop,
                    Contact.telegram_chat_id == chat,
                    Contact.id != contact.id,
                )
                .limit(1)
            )
            if contact.telegram_chat_id not in (None, chat) or other is not None:
                return "taken", language
            # A nonce older than any live token guards nothing: the expiry refuses it first.
            await session.execute(
                delete(TelegramLinkUse).where(TelegramLinkUse.used_at < now - self.max_age)
            )
            session.add(TelegramLinkUse(nonce=token.nonce, contact_id=contact.id, used_at=now))
            await session.flush()  # a concurrent use of this token fails here
            contact.telegram_chat_id = chat
            contact.updated_at = now
            await _grant_consent(session, contact.id, now)
        log.info("telegram chat bound to contact %d", token.contact_id)
        return "bound", language

    async def _answer(self, chat: str, outcome: Outcome, language: str) -> None:
        if self.reply is None:
            return
        try:
            variant = self.answers().get(ANSWERS[outcome], language, self.default_language)
            await self.reply(chat, variant.text, variant.language)
        except Exception:  # the answer is a courtesy: its failure must not fail the webhook
            log.exception("could not answer a refused telegram /start")


async def _grant_consent(session: AsyncSession, contact_id: int, now: datetime) -> None:
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


class LinkConfig:
    """What the telegram-link endpoint needs: sessions, the link secret, the bot's username
    and the clock that stamps a token's issue time."""

    def __init__(
        self, sessions: SessionFactory, secret: str, bot_username: str, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.secret = secret
        self.bot_username = bot_username
        self.clock = clock


class TelegramLink(BaseModel):
    contact_id: str
    url: str
    token: str


async def get_telegram_link(request: web.Request) -> web.Response:
    """`GET /api/v1/contacts/{id}/telegram-link`: the shop shows this link to the shopper."""
    shop = await request.app[KEYRING].shop_for(bearer_token(request.headers.get("Authorization")))
    if shop is None:
        return web.json_response({"error": "missing or wrong API key"}, status=401)
    config = request.app[LINK_CONFIG]
    if not config.secret:
        return web.json_response(
            {"error": "Telegram links are off: NUDGE_TELEGRAM_LINK_SECRET is unset"}, status=409
        )
    external_id = request.match_info["id"]
    async with config.sessions() as session:
        contact_id = await session.scalar(
            select(Contact.id).where(Contact.shop == shop, Contact.external_id == external_id)
        )
    if contact_id is None:
        return web.json_response({"error": "contact: not found"}, status=404)
    token = make_token(contact_id, config.secret, config.clock.now())
    link = TelegramLink(
        contact_id=external_id, url=deep_link(config.bot_username, token), token=token
    )
    return web.json_response(link.model_dump())


document(
    Operation(
        path="/api/v1/contacts/{id}/telegram-link",
        method="GET",
        summary="A t.me deep link that binds the shopper's Telegram chat and records consent; "
        "it expires after NUDGE_TELEGRAM_LINK_DAYS and binds once.",
        responses={"200": TelegramLink, "401": ErrorBody, "404": ErrorBody, "409": ErrorBody},
        parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    )
)
