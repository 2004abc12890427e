"""SQLAlchemy models: the whole persistent state of Nudge, minimal by design (R-PS1, R-PZ1).

Card data never reaches these tables; names are first names only; a checkout keeps one item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps go in as UTC and come out timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use clock.now() or an aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class ApiKey(Base):
    """A shop's API key, stored as a SHA-256 hash (keys are random, 32 bytes)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop: Mapped[str] = mapped_column(String(64), default="default")
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Contact(Base):
    """A shopper as the shop identifies them; only what a touch needs (R-PZ1)."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("shop", "external_id"),
        Index("ix_contacts_phone", "phone"),
        Index("ix_contacts_telegram", "telegram_chat_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop: Mapped[str] = mapped_column(String(64), default="default")
    external_id: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20))
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    whatsapp_missing_at: Mapped[datetime | None]  # WhatsApp: no account at this number (R-SR7)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Consent(Base):
    """One opt-in for one channel, with its proof; revocation closes it (R-SR1)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_contact_channel", "contact_id", "channel"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16), default="recovery")
    source: Mapped[str] = mapped_column(String(64))
    text_shown: Mapped[str | None] = mapped_column(Text)
    text_version: Mapped[str | None] = mapped_column(String(32))
    granted_at: Mapped[datetime]
    event_id: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None]
    revoke_method: Mapped[str | None] = mapped_column(String(64))


class Checkout(Base):
    """A checkout session: stage, one notable item, one amount, one link (R-PZ1)."""

    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("contact_id", "external_id"),
        Index("ix_checkouts_last_activity", "last_activity_at"),
        Index("ix_checkouts_order", "order_id"),  # status changes name only the order
        Index(
            "ix_checkouts_paid_at",
            "paid_at",
            postgresql_where=sql_text("status = 'paid'"),
            sqlite_where=sql_text("status = 'paid'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
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


class PaidCheck(Base):
    """A shopper said "already paid": at `due_at`, no payment means an operator (R-RP4)."""

    __tablename__ = "paid_checks"
    __table_args__ = (Index("ix_paid_checks_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="planned")  # paid | escalated
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class Event(Base):
    """An accepted shop event: its id for idempotency and what it touched, not its payload."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("shop", "event_id"),
        Index("ix_events_received_at", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop: Mapped[str] = mapped_column(String(64), default="default")
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    contact_ref: Mapped[str] = mapped_column(String(128))
    subject_ref: Mapped[str | None] = mapped_column(String(128))


class Chain(Base):
    """One recovery scenario: contact + checkout (or order); one active per contact (R-SR4)."""

    __tablename__ = "chains"
    __table_args__ = (
        Index("ix_chains_contact_status", "contact_id", "status"),
        Index("ix_chains_started_at", "started_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"))
    order_id: Mapped[str | None] = mapped_column(String(128))  # the shop's order (R-FL3)
    flow: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    anchor_at: Mapped[datetime]
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    recovered_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Held out of messages to measure the flow's lift (R-MX3): tracked, never touched.
    holdout: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Touch(Base):
    """A planned proactive message: the source of truth the scheduler claims from."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_due", "status", "due_at"),
        Index("ix_touches_chain_sent", "chain_id", "sent_at"),
        Index("ix_touches_contact_sent", "contact_id", "sent_at"),
        Index("ix_touches_sent", "sent_at"),
        Index(
            "ix_touches_paid",
            "sent_at",
            postgresql_where=sql_text("paid_after_s IS NOT NULL"),
            sqlite_where=sql_text("paid_after_s IS NOT NULL"),
            postgresql_include=[
                "flow",
                "step",
                "variant",
                "paid_after_s",
                "paid_cents",
                "paid_currency",
            ],
        ),
        Index(
            "ix_touches_handoff",
            "sent_at",
            postgresql_where=sql_text("handoff_after_s IS NOT NULL"),
            sqlite_where=sql_text("handoff_after_s IS NOT NULL"),
            postgresql_include=["flow", "step", "variant", "handoff_after_s", "handoff_answer_s"],
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))  # of the number: what it costs
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    rule: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
    # Derived by bot/reports/outcomes.py, never written elsewhere: what followed this touch.
    # *_after_s: seconds from the touch to the earliest such outcome credited to it.
    delivered: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    was_read: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    paid_after_s: Mapped[float | None] = mapped_column(Float)
    replied_after_s: Mapped[float | None] = mapped_column(Float)
    opted_out_after_s: Mapped[float | None] = mapped_column(Float)
    negative_after_s: Mapped[float | None] = mapped_column(Float)  # a decline stopped the chain
    handoff_after_s: Mapped[float | None] = mapped_column(Float)
    handoff_answer_s: Mapped[float | None] = mapped_column(Float)
    paid_cents: Mapped[int | None] = mapped_column(BigInteger)  # the credited payment's total
    paid_currency: Mapped[str | None] = mapped_column(String(3))
    chain_prev_sent_at: Mapped[datetime | None]


class ReportStaleContact(Base):
    """A contact whose touch outcomes must be recomputed; appended by triggers (migration
    0003) on every write that can change them, consumed by bot/reports/outcomes.py."""

    __tablename__ = "report_stale_contacts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigInteger)


class Conversation(Base):
    """The chat with one contact: who owns it (bot / operator) and dialogue memory."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_escalated_at", "escalated_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(24), default="bot")
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)
    last_channel: Mapped[str | None] = mapped_column(String(16))
    last_inbound_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    first_operator_reply_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(16))
    memory: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime]


class Message(Base):
    """Every message in or out, text already redacted of card data (R-RP5)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        Index("ix_messages_contact", "contact_id", "created_at"),
        Index(
            "ix_messages_inbound_at",
            "created_at",
            postgresql_where=sql_text("direction = 'in'"),
            sqlite_where=sql_text("direction = 'in'"),
        ),
        # only sends in flight: what the sweeper looks at every few seconds
        Index(
            "ix_messages_sending",
            "created_at",
            postgresql_where=sql_text("status = 'sending'"),
            sqlite_where=sql_text("status = 'sending'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[dict[str, Any] | None]
    template: Mapped[str | None] = mapped_column(String(64))
    intent: Mapped[str | None] = mapped_column(String(32))
    touch_id: Mapped[int | None] = mapped_column(BigId)
    author: Mapped[str | None] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_reason: Mapped[str | None] = mapped_column(String(200))
    segments: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    status_at: Mapped[datetime | None]


class InboundWebhook(Base):
    """A provider webhook persisted before processing; the unique key drops retries."""

    __tablename__ = "inbound_webhooks"
    __table_args__ = (
        UniqueConstraint("channel", "dedupe_key"),
        Index(
            "ix_inbound_webhooks_open",
            "next_attempt_at",
            postgresql_where=sql_text("processed_at IS NULL AND dead_at IS NULL"),
            sqlite_where=sql_text("processed_at IS NULL AND dead_at IS NULL"),
        ),
        Index(
            "ix_inbound_webhooks_dead",
            "dead_at",
            postgresql_where=sql_text("dead_at IS NOT NULL"),
            sqlite_where=sql_text("dead_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]  # set only once processing succeeded
    error: Mapped[str | None] = mapped_column(String(300))  # the last failure
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    # Wall-clock time: while claimed, the lease's end; after a failure, the retry's time.
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    dead_at: Mapped[datetime | None]  # attempts exhausted: a dead letter for the operators


class Operator(Base):
    """A console user; the password is hashed with Argon2id."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="operator")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Every bot decision with the rule that made it (R-PS4)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_contact_at", "contact_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    chain_id: Mapped[int | None] = mapped_column(BigId)
    touch_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]


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


class Rating(Base):
    """One satisfaction question (R-MX4): asked once per conversation episode, answered 1–5."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("conversation_id", "episode"),
        Index("ix_ratings_answered_at", "answered_at"),
        Index("ix_ratings_contact", "contact_id", "asked_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    episode: Mapped[str] = mapped_column(String(64))  # which ending of the conversation
    by: Mapped[str] = mapped_column(String(16))  # "operator" or "bot": who helped
    operator_id: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[int | None] = mapped_column(Integer)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class TelegramLinkUse(Base):
    """A Telegram opt-in link token that has bound a chat: each token binds once (R-PS5)."""

    __tablename__ = "telegram_link_uses"
    nonce: Mapped[str] = mapped_column(String(16), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    used_at: Mapped[datetime]


class Instance(Base):
    """A running service instance and its heartbeat: the claims of one silent for too long
    are taken over by the others (bot/touches/recovery.py)."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the claimer id
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]  # wall clock, never the sandbox clock
