"""The audit trail (R-PS4): what the bot did, to whom, and which rule allowed or stopped it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import AuditEntry, Chain


def audit(
    session: AsyncSession,
    *,
    at: datetime,
    action: str,
    contact_id: int | None,
    rule: str | None = None,
    chain_id: int | None = None,
    touch_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the caller's transaction (actions: planned, sent, deferred, skipped,
    cancelled, replied, escalated, opted_out, …; rule: e.g. `R-SR2 quiet hours`)."""
    session.add(
        AuditEntry(
            at=at,
            action=action,
            contact_id=contact_id,
            rule=rule,
            chain_id=chain_id,
            touch_id=touch_id,
            detail=detail,
        )
    )


def audit_row(
    chain: Chain, now: datetime, action: str, rule: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """The fields of an audit entry about a chain (for `audit(**row)` or a bulk INSERT)."""
    return {
        "at": now,
        "action": action,
        "contact_id": chain.contact_id,
        "chain_id": chain.id,
        "rule": rule,
        "detail": detail,
    }
