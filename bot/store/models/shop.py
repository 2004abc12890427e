"""What the shop tells us: API keys, contacts, consents, checkouts, events, sync cursors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, ContactRow, IdRow, partial_index


class ApiKey(IdRow):
    """A shop's API key, stored as a SHA-256 hash (keys are random, 32 bytes)."""

    __tablename__ = "api_keys"
    shop: Mapped[str] = mapped_column(String(64), default="default")
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Contact(IdRow):
    """A shopper as the shop identifies them; only what a touch needs (R-PZ1)."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("shop", "external_id"),
        Index("ix_contacts_telegram", "telegram_chat_id"),
    )
    shop: Mapped[str] = mapped_column(String(64), default="default")
    external_id: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    whatsapp_missing_at: Mapped[datetime | None]  # WhatsApp: no account at this number (R-SR7)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Consent(ContactRow):
    """One opt-in for one channel, with its proof; revocation closes it (R-SR1)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_contact_channel", "contact_id", "channel"),)
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16), default="recovery")
    source: Mapped[str] = mapped_column(String(64))
    text_shown: Mapped[str | None] = mapped_column(Text)
    text_version: Mapped[str | None] = mapped_column(String(32))
    granted_at: Mapped[datetime]
    event_id: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None]
    revoke_method: Mapped[str | None] = mapped_column(String(64))


class Checkout(ContactRow):
    """A checkout session: stage, one notable item, one amount, one link (R-PZ1)."""

    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("contact_id", "external_id"),
        Index("ix_checkouts_last_activity", "last_activity_at"),
        Index("ix_checkouts_order", "order_id"),  # status changes name only the order
        partial_index("ix_checkouts_paid_at", "paid_at", where="status = 'paid'"),
    )
    external_id: Mapped[str] = mapped_column(String(128))
    stage: Mapped[str] = mapped_column(String(16), default="cart")
    status: Mapped[str] = mapped_column(String(16), default="open")
    top_item: Mapped[str | None] = mapped_column(String(200))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    resume_url: Mapped[str | None] = mapped_column(String(1000))
    pay_url: Mapped[str | None] = mapped_column(String(1000))
    delivery_method: Mapped[str | None] = mapped_column(String(100))
    failed_payments: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_reason: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(128))
    order_status: Mapped[str | None] = mapped_column(String(64))
    tracking_url: Mapped[str | None] = mapped_column(String(1000))
    paid_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaidCheck(ContactRow):
    """A shopper said "already paid": at `due_at`, no payment means an operator (R-RP4)."""

    __tablename__ = "paid_checks"
    __table_args__ = (Index("ix_paid_checks_due", "status", "due_at"),)
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="planned")  # paid | escalated
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class Event(IdRow):
    """An accepted shop event: its id for idempotency and what it touched, not its payload."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("shop", "event_id"),)
    shop: Mapped[str] = mapped_column(String(64), default="default")
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)
    contact_ref: Mapped[str] = mapped_column(String(128))
    subject_ref: Mapped[str | None] = mapped_column(String(128))


class IntegrationCursor(Base):
    """Where a shop platform's sync stands: the last history id applied, with the events it
    produced in one transaction, so a restart neither loses nor repeats a change (R-IN3)."""

    __tablename__ = "integration_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    since_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None]
