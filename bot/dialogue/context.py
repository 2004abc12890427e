"""What a reply is built from: the contact, their checkout, shop settings, the language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Button, OutboundMessage
from bot.store.models import Checkout, Contact, Message, Touch
from flows.replies import DeliveryOption, Promotion, ReplyBook, Shop
from flows.templates import render

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FREE = {"ru": "бесплатно", "en": "free", "pl": "za darmo", "zh": "免费"}
_FREE_FROM = {"ru": "бесплатно от {x}", "en": "free from {x}", "pl": "za darmo od {x}",
              "zh": "满{x}免运费"}  # fmt: skip
_DAYS = {"ru": "{x} дн.", "en": "{x} days", "pl": "{x} dni", "zh": "{x}天"}


@dataclass
class ReplyContext:
    book: ReplyBook
    contact: Contact
    checkout: Checkout | None
    language: str
    default_language: str
    now: datetime

    def values(self, **extra: object) -> dict[str, object]:
        checkout = self.checkout
        values: dict[str, object] = {
            "first_name": self.contact.first_name or "",
            "item": checkout.top_item if checkout else "",
            "total": money(checkout.total, checkout.currency) if checkout else "",
            "link": (checkout.pay_url or checkout.resume_url or "") if checkout else "",
        }
        values.update(extra)
        return values

    def message(self, template: str, **extra: object) -> OutboundMessage:
        """Render a template in the shopper's language; its buttons become quick replies."""
        variant = self.book.templates.get(template, self.language, self.default_language)
        text = render(variant.text, self.values(**extra)).lstrip(" ,，")
        buttons = tuple(Button(b.payload, b.title) for b in variant.buttons)
        return OutboundMessage(text=text, buttons=buttons, language=variant.language)


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None:
        return ""
    text = f"{amount:,.2f}".replace(",", " ").removesuffix(".00")
    return f"{text} {currency or ''}".strip()


def localized(titles: dict[str, str], language: str, fallback: str) -> str:
    return titles.get(language) or titles.get(fallback) or next(iter(titles.values()), "")


def delivery_text(option: DeliveryOption, shop: Shop, language: str, fallback: str) -> str:
    title = localized(option.title, language, fallback)
    lang = language if language in _FREE else "en"
    parts = [title]
    if option.price == 0:
        parts.append(_FREE[lang])
    else:
        parts.append(money(option.price, shop.currency))
        if option.free_from is not None:
            parts.append(_FREE_FROM[lang].format(x=money(option.free_from, shop.currency)))
    if option.days:
        parts.append(_DAYS[lang].format(x=option.days))
    return ", ".join(parts)


def matching_promotion(shop: Shop, checkout: Checkout | None, now: datetime) -> Promotion | None:
    """The first configured promotion this checkout qualifies for; None means none applies."""
    if checkout is None or checkout.status != "open" or checkout.total is None:
        return None
    for promo in shop.promotions:
        if promo.valid_from and now < promo.valid_from:
            continue
        if promo.valid_until and now > promo.valid_until:
            continue
        if promo.currency and checkout.currency != promo.currency:
            continue
        if promo.stages and checkout.stage not in promo.stages:
            continue
        if checkout.total < promo.min_total:
            continue
        return promo
    return None


def operator_hours_open(shop: Shop, now: datetime) -> bool:
    hours = shop.operator_hours
    local = now.astimezone(ZoneInfo(hours.timezone))
    if _WEEKDAYS[local.weekday()] not in hours.days:
        return False
    return hours.start <= local.time() < hours.end


def operator_hours_text(shop: Shop) -> str:
    hours = shop.operator_hours
    days = hours.days
    span = f"{days[0]}–{days[-1]}" if len(days) > 1 else (days[0] if days else "")
    return f"{span} {hours.start:%H:%M}–{hours.end:%H:%M} ({hours.timezone})".strip()


def _holds_address(channel: str, address: str) -> ColumnElement[bool]:
    """Contacts reachable at `address`: by chat id for Telegram, else by phone in either stored
    form (`+7…` or digits only)."""
    if channel == "telegram":
        return Contact.telegram_chat_id == address
    digits = address.lstrip("+")
    return Contact.phone.in_([f"+{digits}", digits])


async def find_contact(session: AsyncSession, channel: str, address: str) -> Contact | None:
    """The contact who wrote: the most recently updated record with that address."""
    statement = (
        select(Contact)
        .where(_holds_address(channel, address))
        .order_by(Contact.updated_at.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def contacts_at(session: AsyncSession, channel: str, address: str) -> list[int]:
    """Every contact record with that address: a STOP from it binds them all (R-SR1)."""
    statement = select(Contact.id).where(_holds_address(channel, address)).order_by(Contact.id)
    return list((await session.scalars(statement)).all())


async def current_checkout(session: AsyncSession, contact_id: int) -> Checkout | None:
    """The checkout the chat is about: the latest open one, else the latest."""
    statement = (
        select(Checkout)
        .where(Checkout.contact_id == contact_id)
        .order_by((Checkout.status == "open").desc(), Checkout.last_activity_at.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def touch_quick_replies(session: AsyncSession, contact_id: int) -> tuple[Button, ...]:
    """The quick replies of the latest touch sent to the contact (none: an empty tuple)."""
    row = await session.scalar(
        select(Message)
        .where(
            Message.contact_id == contact_id,
            Message.direction == "out",
            Message.touch_id.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    items = ((row.buttons or {}).get("items") or []) if row is not None else []
    return tuple(
        Button(str(i["payload"]), str(i.get("title", ""))) for i in items if i.get("payload")
    )


async def offered_replies(
    session: AsyncSession, contact_id: int, touch_replies: Any = None
) -> dict[str, str]:
    """Digit (and title) → payload of the latest message we sent with quick replies."""
    rows = (
        await session.scalars(
            select(Message)
            .where(Message.contact_id == contact_id, Message.direction == "out")
            .order_by(Message.id.desc())
            .limit(10)
        )
    ).all()
    for row in rows:
        items = (row.buttons or {}).get("items") or []
        mapping: dict[str, str] = {}
        if row.touch_id is not None and touch_replies is not None:
            touch = await session.get(Touch, row.touch_id)
            if touch is not None:
                mapping.update(touch_replies(touch.flow, touch.step))
        for index, item in enumerate(items, start=1):
            mapping.setdefault(str(index), str(item.get("payload", "")))
            title = str(item.get("title", "")).strip().lower()
            if title:
                mapping.setdefault(title, str(item.get("payload", "")))
        if mapping:
            return mapping
    return {}
