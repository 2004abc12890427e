"""The rarer shop events applied one statement each: consents, visits, payments, orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.schemas import (
    CheckoutVisited,
    ConsentGranted,
    ConsentRevoked,
    OrderPaid,
    OrderStatusChanged,
    PaymentFailed,
    ShopEvent,
)
from bot.store.dialect import insert_for
from bot.store.models import Checkout, Consent

_CHECKOUTS = cast(Table, Checkout.__table__)


async def _checkout_id(
    session: AsyncSession, contact_id: int, external_id: str, at: datetime, stage: str = "payment"
) -> int:
    """The row of a checkout referenced by id; a minimal row when it arrives out of order."""
    found = await session.scalar(
        select(Checkout.id).where(
            Checkout.contact_id == contact_id, Checkout.external_id == external_id
        )
    )
    if found is not None:
        return int(found)
    statement = (
        insert_for(session)(_CHECKOUTS)
        .values(
            contact_id=contact_id,
            external_id=external_id,
            stage=stage,
            status="open",
            item_count=0,
            failed_payments=0,
            last_activity_at=at,
            created_at=at,
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["contact_id", "external_id"])
        .returning(Checkout.id)
    )
    inserted = await session.scalar(statement)
    if inserted is not None:
        return int(inserted)
    return int(
        await session.scalar(
            select(Checkout.id).where(
                Checkout.contact_id == contact_id, Checkout.external_id == external_id
            )
        )
        or 0
    )


# A consent row keeps these fields exactly as the shop sent them.
_CONSENT_AS_GIVEN = {"channel", "purpose", "source", "text_shown", "text_version"}


async def apply_one(
    session: AsyncSession, event: ShopEvent, contact_id: int, checkout_id: int | None
) -> int | None:
    """Apply a non-bulk event; return the checkout it concerns, if any."""
    at = event.occurred_at
    if isinstance(event, ConsentGranted):
        shown = event.model_dump(include=_CONSENT_AS_GIVEN)
        session.add(Consent(contact_id=contact_id, granted_at=at, event_id=event.id, **shown))
        await session.flush()
        return None
    if isinstance(event, ConsentRevoked):
        await revoke_consent(session, contact_id, event.channel, at, event.method or "shop_event")
        return None
    if isinstance(event, CheckoutVisited):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at, "cart")
        await session.execute(
            update(Checkout)
            .where(Checkout.id == checkout_id, Checkout.last_activity_at < at)
            .values(last_activity_at=at, updated_at=at)
        )
        return checkout_id
    if isinstance(event, PaymentFailed):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
        values: dict[str, Any] = {
            "failed_payments": Checkout.failed_payments + 1,
            "last_failure_reason": event.reason,
            "stage": "payment",
            "updated_at": at,
        }
        if event.pay_url:
            values["pay_url"] = event.pay_url
        await session.execute(update(Checkout).where(Checkout.id == checkout_id).values(values))
        return checkout_id
    if isinstance(event, OrderPaid):
        checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
        paid: dict[str, Any] = {
            "status": "paid",
            "paid_at": at,
            "order_id": event.order.id,
            "updated_at": at,
        }
        if event.total is not None:
            paid["total"] = Decimal(event.total)
        if event.currency is not None:
            paid["currency"] = event.currency
        await session.execute(update(Checkout).where(Checkout.id == checkout_id).values(paid))
        return checkout_id
    if isinstance(event, OrderStatusChanged):
        changes: dict[str, Any] = {"order_status": event.order.status, "updated_at": at}
        if event.order.tracking_url:
            changes["tracking_url"] = event.order.tracking_url
        statement = update(Checkout).values(changes)
        if event.checkout is not None:
            checkout_id = await _checkout_id(session, contact_id, event.checkout.id, at)
            await session.execute(statement.where(Checkout.id == checkout_id))
            return checkout_id
        found = await session.scalar(
            select(Checkout.id).where(
                Checkout.contact_id == contact_id, Checkout.order_id == event.order.id
            )
        )
        if found is not None:
            await session.execute(statement.where(Checkout.id == found))
            return int(found)
        return None
    return checkout_id


async def revoke_consent(
    session: AsyncSession, contact_id: int, channel: str, at: datetime, method: str
) -> int:
    """Close the contact's open consents on a channel (or all); effective at once (R-SR1)."""
    statement = (
        update(Consent)
        .where(Consent.contact_id == contact_id, Consent.revoked_at.is_(None))
        .values(revoked_at=at, revoke_method=method[:64])
    )
    if channel != "all":
        statement = statement.where(Consent.channel == channel)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
