"""`GET /api/v1/contacts/{id}/timeline`: the audit trail of one contact (R-PS4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from bot.api.keys import bearer_token
from bot.api.openapi import Operation, document
from bot.api.schemas import ErrorBody
from bot.app_keys import KEYRING, SESSIONS
from bot.store.models import AuditEntry, Contact


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from AuditEntry rows

    at: datetime
    action: str
    rule: str | None
    chain_id: int | None
    touch_id: int | None
    detail: dict[str, Any] | None


class Timeline(BaseModel):
    contact_id: str
    entries: list[TimelineEntry]


document(
    Operation(
        path="/api/v1/contacts/{id}/timeline",
        method="GET",
        summary="Every decision about one contact (planned, sent, deferred, skipped, "
        "cancelled, …) with the rule that made it, oldest first.",
        parameters=[
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The shop's contact id (as sent in events).",
            }
        ],
        responses={"200": Timeline, "401": ErrorBody, "404": ErrorBody},
    )
)


async def get_timeline(request: web.Request) -> web.Response:
    app = request.app
    shop = await app[KEYRING].shop_for(bearer_token(request.headers.get("Authorization")))
    if shop is None:
        return web.json_response(
            {"error": "missing or unknown API key: send Authorization: Bearer <key>"}, status=401
        )
    external_id = request.match_info["id"]
    async with app[SESSIONS]() as session:
        contact_id = await session.scalar(
            select(Contact.id).where(Contact.shop == shop, Contact.external_id == external_id)
        )
        if contact_id is None:
            return web.json_response({"error": f"no contact with id {external_id!r}"}, status=404)
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.contact_id == contact_id)
            .order_by(AuditEntry.at, AuditEntry.id)
            .limit(5000)
        )
        entries = [TimelineEntry.model_validate(row) for row in rows]
    body = Timeline(contact_id=external_id, entries=entries)
    return web.json_response(text=body.model_dump_json())
