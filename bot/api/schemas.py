"""Pydantic models of the shop events API (CONTRACT.md); the OpenAPI spec is built from them."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from bot.phones import is_e164

Channel = Literal["whatsapp", "sms", "telegram"]
Language = Literal["ru", "en", "pl", "zh"]
Stage = Literal["cart", "delivery", "payment"]
FailureReason = Literal[
    "card_data", "three_ds", "insufficient_funds", "risk_block", "platform_error", "unknown"
]

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=1000, pattern=r"^https?://[^\s]+$")]
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _is_e164(value: str) -> str:
    if not is_e164(value):
        raise ValueError("must be an E.164 phone number such as +79161234567")
    return value


def _is_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"is not an IANA time zone: {value!r}") from exc
    return value


def _is_currency(value: str) -> str:
    if not _CURRENCY.match(value):
        raise ValueError("must be an ISO 4217 code such as RUB, EUR, PLN, CNY, USD")
    return value


Phone = Annotated[str, AfterValidator(_is_e164)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_is_zone)]
Currency = Annotated[str, AfterValidator(_is_currency)]
Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(Strict):
    id: Identifier
    phone: Phone | None = None
    telegram_chat_id: Annotated[str, StringConstraints(pattern=r"^-?\d{1,20}$")] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    language: Language | None = None
    timezone: TimeZone | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Accepted for compatibility and never stored."
    )


class ItemIn(Strict):
    name: ShortText
    quantity: int = Field(ge=1, le=100_000)
    price: Money


class CheckoutRef(Strict):
    id: Identifier


class CheckoutIn(Strict):
    id: Identifier
    stage: Stage
    items: list[ItemIn] = Field(default_factory=list, max_length=500)
    total: Money
    currency: Currency
    resume_url: Url
    delivery_method: ShortText | None = None


class OrderRef(Strict):
    id: Identifier


class OrderStatusIn(Strict):
    id: Identifier
    status: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    tracking_url: Url | None = None


class EventBase(Strict):
    id: Identifier = Field(description="Unique per shop; a repeat is reported as a duplicate.")
    occurred_at: AwareDatetime = Field(description="RFC 3339 with an offset.")
    contact: ContactIn

    @field_validator("occurred_at")
    @classmethod
    def _sane_year(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 2200:
            raise ValueError("must be a date between the years 2000 and 2200")
        return value


class ConsentGranted(EventBase):
    type: Literal["consent.granted"]
    channel: Channel
    source: ShortText
    purpose: Literal["recovery", "service"] = "recovery"
    text_shown: Annotated[str, StringConstraints(max_length=2000)] | None = None
    text_version: Annotated[str, StringConstraints(max_length=32)] | None = None


class ConsentRevoked(EventBase):
    type: Literal["consent.revoked"]
    channel: Channel | Literal["all"]
    method: Annotated[str, StringConstraints(max_length=64)] | None = None


class CheckoutUpdated(EventBase):
    type: Literal["checkout.updated"]
    checkout: CheckoutIn


class CheckoutVisited(EventBase):
    type: Literal["checkout.visited"]
    checkout: CheckoutRef


class PaymentFailed(EventBase):
    type: Literal["payment.failed"]
    checkout: CheckoutRef
    reason: FailureReason
    pay_url: Url | None = None


class OrderPaid(EventBase):
    type: Literal["order.paid"]
    checkout: CheckoutRef
    order: OrderRef
    total: Money | None = None
    currency: Currency | None = None


class OrderStatusChanged(EventBase):
    type: Literal["order.status_changed"]
    order: OrderStatusIn
    checkout: CheckoutRef | None = None


ShopEvent = Annotated[
    ConsentGranted
    | ConsentRevoked
    | CheckoutUpdated
    | CheckoutVisited
    | PaymentFailed
    | OrderPaid
    | OrderStatusChanged,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "consent.granted",
    "consent.revoked",
    "checkout.updated",
    "checkout.visited",
    "payment.failed",
    "order.paid",
    "order.status_changed",
)


class EventBatch(BaseModel):
    events: list[dict[str, object]] = Field(min_length=1, description="One to N events.")


class EventResult(BaseModel):
    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    error: str | None = None


class EventResults(BaseModel):
    results: list[EventResult]


class ErrorBody(BaseModel):
    error: str
