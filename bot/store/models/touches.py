"""Recovery chains, their touches, and the instances that fire them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, ContactRow, IdRow, partial_index


class Chain(ContactRow):
    """One recovery scenario: contact + checkout (or order); one active per contact (R-SR4)."""

    __tablename__ = "chains"
    __table_args__ = (Index("ix_chains_contact_status", "contact_id", "status"),)
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"))
    order_id: Mapped[str | None] = mapped_column(String(128))  # the shop's order (R-FL3)
    flow: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    anchor_at: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(index=True)
    stopped_at: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    recovered_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Held out of messages to measure the flow's lift (R-MX3): tracked, never touched.
    holdout: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Touch(ContactRow):
    """A planned proactive message: the source of truth the scheduler claims from."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_due", "status", "due_at"),
        Index("ix_touches_chain_sent", "chain_id", "sent_at"),
        Index("ix_touches_contact_sent", "contact_id", "sent_at"),
        Index("ix_touches_sent", "sent_at"),
        partial_index(
            "ix_touches_paid",
            "sent_at",
            where="paid_after_s IS NOT NULL",
            postgresql_include=[
                "flow",
                "step",
                "variant",
                "paid_after_s",
                "paid_cents",
                "paid_currency",
            ],
        ),
        partial_index(
            "ix_touches_handoff",
            "sent_at",
            where="handoff_after_s IS NOT NULL",
            postgresql_include=["flow", "step", "variant", "handoff_after_s", "handoff_answer_s"],
        ),
    )
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
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


class ReportStaleContact(IdRow):
    """A contact whose touch outcomes must be recomputed; appended by triggers (migration
    0003) on every write that can change them, consumed by bot/reports/outcomes.py."""

    __tablename__ = "report_stale_contacts"
    contact_id: Mapped[int] = mapped_column(BigInteger)


class Instance(Base):
    """A running service instance and its heartbeat: the claims of one silent for too long
    are taken over by the others (bot/touches/recovery.py)."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the claimer id
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]  # wall clock, never the sandbox clock
