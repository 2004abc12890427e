"""`POST /api/v1/events`: one event or a batch, validated per item, applied atomically."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from bot import safejson
from bot.api.batcher import IngestBatcher
from bot.api.keys import KeyRing, bearer_token
from bot.api.schemas import EVENT_TYPES, ShopEvent
from bot.app_keys import KEYRING, METRICS, SETTINGS
from bot.safejson import JSONBodyError

log = logging.getLogger(__name__)
_EVENT = TypeAdapter(ShopEvent)
INGEST = web.AppKey("ingest", IngestBatcher)


def describe_error(errors: list[ErrorDetails]) -> str:
    """A short message naming the bad field, e.g. `checkout.total: must be ≥ 0`."""
    parts = []
    for error in errors[:3]:
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        field = ".".join(loc) or "body"
        message = error["msg"]
        if error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
            field, message = "type", "must be one of " + ", ".join(EVENT_TYPES)
        elif error["type"] == "extra_forbidden":
            message = "is not a known field"
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _validate(raw: Any) -> tuple[ShopEvent | None, str | None]:
    if not isinstance(raw, dict):
        return None, "body: each event must be a JSON object"
    try:
        return _EVENT.validate_python(raw), None
    except ValidationError as exc:
        return None, describe_error(exc.errors(include_url=False))


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return str(raw["id"])[:128]
    return None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def post_events(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    keyring: KeyRing = app[KEYRING]
    shop = await keyring.shop_for(bearer_token(request.headers.get("Authorization")))
    if shop is None:
        return _error(401, "missing or unknown API key: send Authorization: Bearer <key>")
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _error(413, f"body is larger than {settings.max_body_bytes} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body is larger than {settings.max_body_bytes} bytes")
    try:
        payload = safejson.loads(body)
    except JSONBodyError as exc:
        return _error(400, str(exc))
    if isinstance(payload, dict) and "events" in payload and "type" not in payload:
        raw_events = payload["events"]
        if not isinstance(raw_events, list) or not raw_events:
            return _error(422, "events: must be a non-empty list of event objects")
        if len(raw_events) > settings.max_batch_events:
            return _error(413, f"events: at most {settings.max_batch_events} events per batch")
        batch = True
    elif isinstance(payload, dict):
        raw_events, batch = [payload], False
    else:
        return _error(422, 'body: must be one event object or {"events": [...]}')

    started = time.perf_counter()
    checked = [_validate(raw) for raw in raw_events]
    valid = [event for event, _ in checked if event is not None]
    new_ids = await app[INGEST].submit(shop, valid) if valid else set()
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw, (event, error) in zip(raw_events, checked, strict=True):
        if event is None:
            results.append({"id": _raw_id(raw), "status": "rejected", "error": error})
        elif event.id in new_ids and event.id not in seen:
            seen.add(event.id)
            results.append({"id": event.id, "status": "accepted"})
        else:
            results.append({"id": event.id, "status": "duplicate"})
    metrics = app[METRICS]
    for status in ("accepted", "duplicate", "rejected"):
        count = sum(1 for result in results if result["status"] == status)
        if count:
            metrics.events_total.labels(status=status).inc(count)
    metrics.ingest_seconds.observe(time.perf_counter() - started)
    if not batch and checked[0][0] is None:
        return web.json_response({"error": checked[0][1], "results": results}, status=422)
    return web.json_response({"results": results}, status=202)
