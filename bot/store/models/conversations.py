"""Conversations: messages both ways, stored webhooks, operators, audit, ratings, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, ContactRow, IdRow, partial_index


class Conversation(IdRow):
    """The chat with one contact: who owns it (bot / operator) and dialogue memory."""

    __tablename__ = "conversations"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(24), default="bot")
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)
    last_channel: Mapped[str | None] = mapped_column(String(16))
    last_inbound_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_at: Mapped[datetime | None]
    first_operator_reply_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(16))
    memory: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime]


class Message(ContactRow):
    """Every message in or out, text already redacted of card data (R-RP5)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        Index("ix_messages_contact", "contact_id", "created_at"),
        partial_index("ix_messages_inbound_at", "created_at", where="direction = 'in'"),
        # only sends in flight: what the sweeper looks at every few seconds
        partial_index("ix_messages_sending", "created_at", where="status = 'sending'"),
    )
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


class InboundWebhook(IdRow):
    """A provider webhook persisted before processing; the unique key drops retries."""

    __tablename__ = "inbound_webhooks"
    __table_args__ = (
        UniqueConstraint("channel", "dedupe_key"),
        partial_index(
            "ix_inbound_webhooks_open",
            "next_attempt_at",
            where="processed_at IS NULL AND dead_at IS NULL",
        ),
        partial_index("ix_inbound_webhooks_dead", "dead_at", where="dead_at IS NOT NULL"),
    )
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


class Operator(IdRow):
    """A console user; the password is hashed with Argon2id."""

    __tablename__ = "operators"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="operator")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class AuditEntry(IdRow):
    """Every bot decision with the rule that made it (R-PS4)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_contact_at", "contact_id", "at"),)
    at: Mapped[datetime]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    chain_id: Mapped[int | None] = mapped_column(BigId)
    touch_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]


class Rating(ContactRow):
    """One satisfaction question (R-MX4): asked once per conversation episode, answered 1–5."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("conversation_id", "episode"),
        Index("ix_ratings_contact", "contact_id", "asked_at"),
    )
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    episode: Mapped[str] = mapped_column(String(64))  # which ending of the conversation
    by: Mapped[str] = mapped_column(String(16))  # "operator" or "bot": who helped
    operator_id: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[int | None] = mapped_column(Integer)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)


class TelegramLinkUse(Base):
    """A Telegram opt-in link token that has bound a chat: each token binds once (R-PS5)."""

    __tablename__ = "telegram_link_uses"
    nonce: Mapped[str] = mapped_column(String(16), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    used_at: Mapped[datetime]
