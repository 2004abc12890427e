"""Shopify webhooks (R-IN1): HMAC over the raw body, topic → a Nudge event, then the events
API's ingest path (R-IN4). Order: signature (401, nothing stored) → headers and JSON (400) →
translate → ingest → 200. Shopify has no "abandoned" event: the idle rule (R-EV3) decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from bot.api.events import INGEST, describe_error
from bot.api.schemas import ShopEvent
from bot.app_keys import CLOCK, METRICS, SESSIONS, SETTINGS
from bot.integrations.common import SHOP, Untranslatable, e164, first_name, language, obj
from bot.integrations.status import INTEGRATIONS
from bot.store.db import SessionFactory
from bot.store.models import Checkout, Contact

log = logging.getLogger(__name__)
_EVENT = TypeAdapter(ShopEvent)

TOPICS = (
    "checkouts/create",
    "checkouts/update",
    "orders/create",
    "orders/paid",
    "orders/fulfilled",
    "orders/cancelled",
    "fulfillments/create",
    "fulfillments/update",
    "customers/update",
)
# A fulfilment's carrier state → the shop statuses flows/recovery/order_status.yml knows.
SHIPMENT_STATUSES = {
    "label_printed": "assembled",
    "label_purchased": "assembled",
    "confirmed": "shipped",
    "in_transit": "shipped",
    "out_for_delivery": "handed_to_courier",
    "ready_for_pickup": "ready_for_pickup",
    "delivered": "delivered",
}


def sign(secret: str, body: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value of a body: base64 of its HMAC-SHA256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_ok(secret: str, body: bytes, presented: str | None) -> bool:
    if not secret or not presented:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), presented.strip().encode())


def _text(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _required(payload: dict[str, Any], key: str) -> str:
    value = _text(payload.get(key))
    if value is None:
        raise Untranslatable(f"{key}: is required")
    return value


def _money(value: Any, field: str) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Untranslatable(f"{field}: must be a decimal amount") from exc
    return str(amount.quantize(Decimal("0.01")))


def _phone(payload: dict[str, Any]) -> str | None:
    """The checkout's or order's phone, else its shipping or billing address's, else the
    customer's; the address country helps read a national number."""
    shipping, billing = obj(payload.get("shipping_address")), obj(payload.get("billing_address"))
    region = shipping.get("country_code") or billing.get("country_code")
    customer = obj(payload.get("customer"))
    for raw in (
        payload.get("phone"),
        shipping.get("phone"),
        billing.get("phone"),
        customer.get("phone"),
        payload.get("sms_marketing_phone"),
    ):
        phone = e164(raw, region)
        if phone:
            return phone
    return None


def _contact(payload: dict[str, Any]) -> dict[str, Any] | None:
    """`shopify:<customer id>`, or `shopify:phone:<E.164>` without a customer (CONTRACT)."""
    customer = obj(payload.get("customer"))
    phone = _phone(payload)
    customer_id = _text(customer.get("id"))
    if customer_id:
        contact: dict[str, Any] = {"id": f"shopify:{customer_id}"}
    elif phone:
        contact = {"id": f"shopify:phone:{phone}"}
    else:
        return None
    if phone:
        contact["phone"] = phone
    shipping = obj(payload.get("shipping_address"))
    name = first_name(customer.get("first_name")) or first_name(shipping.get("first_name"))
    if name:
        contact["name"] = name
    spoken = language(payload.get("customer_locale")) or language(customer.get("locale"))
    if spoken:
        contact["language"] = spoken
    return contact


def _stage(checkout: dict[str, Any]) -> str:
    """A gateway chosen → payment; a shipping line or address → delivery; else the cart."""
    if _text(checkout.get("gateway")):
        return "payment"
    if checkout.get("shipping_lines") or checkout.get("shipping_line"):
        return "delivery"
    if obj(checkout.get("shipping_address")):
        return "delivery"
    return "cart"


def _items(checkout: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for line in checkout.get("line_items") or []:
        line = obj(line)
        title = _text(line.get("title")) or _text(line.get("name"))
        if title is None:
            continue
        variant = _text(line.get("variant_title"))
        name = f"{title} ({variant})" if variant else title
        quantity = line.get("quantity")
        items.append(
            {
                "name": name[:200],
                "quantity": quantity if isinstance(quantity, int) and quantity > 0 else 1,
                "price": _money(line.get("price", "0"), "line_items.price"),
            }
        )
    return items[:500]


def checkout_event(payload: dict[str, Any], event_id: str) -> dict[str, Any] | None:
    """checkouts/create|update → checkout.updated; None for a completed checkout or one
    Nudge cannot reach (no customer and no phone)."""
    if payload.get("completed_at"):
        return None
    token = _required(payload, "token")
    contact = _contact(payload)
    if contact is None:
        return None
    shipping_lines = [obj(line) for line in payload.get("shipping_lines") or []]
    checkout: dict[str, Any] = {
        "id": f"shopify:{token}",
        "stage": _stage(payload),
        "items": _items(payload),
        "total": _money(payload.get("total_price", "0"), "total_price"),
        "currency": _text(payload.get("presentment_currency")) or _required(payload, "currency"),
        "resume_url": _required(payload, "abandoned_checkout_url"),
    }
    method = _text(shipping_lines[0].get("title")) if shipping_lines else None
    if method:
        checkout["delivery_method"] = method[:200]
    return {
        "id": event_id,
        "type": "checkout.updated",
        "occurred_at": _required(payload, "updated_at"),
        "contact": contact,
        "checkout": checkout,
    }


def order_paid_event(payload: dict[str, Any], event_id: str) -> dict[str, Any] | None:
    """orders/create|paid → order.paid on the checkout the order came from (by its token)."""
    token = _text(payload.get("checkout_token"))
    contact = _contact(payload)
    if token is None or contact is None:
        return None  # a POS or draft order: no online checkout to stop
    event: dict[str, Any] = {
        "id": event_id,
        "type": "order.paid",
        "occurred_at": _text(payload.get("processed_at")) or _required(payload, "created_at"),
        "contact": contact,
        "checkout": {"id": f"shopify:{token}"},
        "order": {"id": f"shopify:{_required(payload, 'id')}"},
    }
    if payload.get("total_price") is not None and _text(payload.get("currency")):
        event["total"] = _money(payload["total_price"], "total_price")
        event["currency"] = payload["currency"]
    return event


def order_status_event(
    topic: str, payload: dict[str, Any], event_id: str, contact: dict[str, Any] | None
) -> dict[str, Any] | None:
    """orders/fulfilled|cancelled and fulfillments/* → order.status_changed."""
    if topic.startswith("fulfillments/"):
        order_id = _required(payload, "order_id")
        status = SHIPMENT_STATUSES.get(str(payload.get("shipment_status")))
        if status is None and topic == "fulfillments/create" and payload.get("status") == "success":
            status = "shipped"
        occurred = _text(payload.get("updated_at")) or _required(payload, "created_at")
    else:
        order_id = _required(payload, "id")
        status = "cancelled" if topic == "orders/cancelled" else "shipped"
        contact = contact or _contact(payload)
        occurred = _text(payload.get("cancelled_at")) or _required(payload, "updated_at")
    if status is None or contact is None:
        return None
    event: dict[str, Any] = {
        "id": event_id,
        "type": "order.status_changed",
        "occurred_at": occurred,
        "contact": contact,
        "order": {"id": f"shopify:{order_id}", "status": status},
    }
    token = _text(payload.get("checkout_token"))
    if token:
        event["checkout"] = {"id": f"shopify:{token}"}
    return event


def consent_event(payload: dict[str, Any]) -> dict[str, Any] | None:
    """customers/update → consent.granted / revoked for SMS; its id is the consent's state, so
    every other customer update (same consent) is a duplicate, not a new opt-in."""
    consent = obj(payload.get("sms_marketing_consent"))
    state = consent.get("state")
    if state not in ("subscribed", "unsubscribed", "not_subscribed"):
        return None  # pending (double opt-in unconfirmed), redacted or absent: nothing to say
    customer_id = _required(payload, "id")
    contact: dict[str, Any] = {"id": f"shopify:{customer_id}"}
    phone = e164(payload.get("phone"), obj(payload.get("default_address")).get("country_code"))
    if phone:
        contact["phone"] = phone
    name = first_name(payload.get("first_name"))
    if name:
        contact["name"] = name
    at = _text(consent.get("consent_updated_at")) or _required(payload, "updated_at")
    event: dict[str, Any] = {
        "id": f"shopify:consent:{customer_id}:{state}:{at}"[:128],
        "occurred_at": at,
        "contact": contact,
        "channel": "sms",
    }
    if state == "subscribed":
        collected = str(consent.get("consent_collected_from") or "shopify").lower()
        level = str(consent.get("opt_in_level") or "unknown").lower()
        source = f"shopify_{collected}_{level}"[:200]
        return {**event, "type": "consent.granted", "source": source}
    return {**event, "type": "consent.revoked", "method": "shopify"}


async def _order_contact(sessions: SessionFactory, order_ref: str) -> dict[str, Any] | None:
    """The contact whose checkout became this order (a fulfilment names only the order)."""
    async with sessions() as session:
        found = await session.scalar(
            select(Contact.external_id)
            .join(Checkout, Checkout.contact_id == Contact.id)
            .where(Contact.shop == SHOP, Checkout.order_id == order_ref)
            .limit(1)
        )
    return {"id": found} if found else None


async def translate(
    topic: str, payload: dict[str, Any], webhook_id: str, sessions: SessionFactory
) -> dict[str, Any] | None:
    """The event of a known topic's payload, or None when it is nothing for Nudge."""
    if topic.startswith("checkouts/"):
        return checkout_event(payload, webhook_id)
    if topic in ("orders/create", "orders/paid"):
        return order_paid_event(payload, webhook_id)
    if topic == "customers/update":
        return consent_event(payload)
    contact = None
    if topic.startswith("fulfillments/"):
        order_id = _required(payload, "order_id")
        contact = await _order_contact(sessions, f"shopify:{order_id}")
        if contact is None:
            phone = e164(obj(payload.get("destination")).get("phone"))
            contact = {"id": f"shopify:phone:{phone}", "phone": phone} if phone else None
    return order_status_event(topic, payload, webhook_id, contact)


def _answer(status: int, outcome: str, detail: str | None = None) -> web.Response:
    body: dict[str, Any] = {"status": outcome}
    if detail:
        body["error" if status >= 400 else "detail"] = detail[:300]
    return web.json_response(body, status=status)


async def post_webhook(request: web.Request) -> web.Response:
    """The handler; a refused webhook is the integration's last error in the console."""
    response = await _handle(request)
    if response.status >= 400 and isinstance(response.text, str):
        error = json.loads(response.text).get("error", "")
        request.app[INTEGRATIONS]["shopify"].failed(
            request.app[CLOCK].now(), f"HTTP {response.status}: {error}"
        )
    return response


async def _handle(request: web.Request) -> web.Response:
    app = request.app
    count = app[METRICS].integration_total
    secret = app[SETTINGS].shopify_webhook_secret
    if not secret:
        count.labels(platform="shopify", outcome="unauthorized").inc()
        return _answer(401, "rejected", "Shopify webhooks are off: NUDGE_SHOPIFY_WEBHOOK_SECRET")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, "rejected", "body is too large")
    if not signature_ok(secret, body, request.headers.get("X-Shopify-Hmac-Sha256")):
        count.labels(platform="shopify", outcome="unauthorized").inc()
        log.warning("shopify webhook rejected: bad or missing X-Shopify-Hmac-Sha256")
        return _answer(401, "rejected", "bad or missing X-Shopify-Hmac-Sha256")
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    webhook_id = (request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not topic or not webhook_id or len(webhook_id) > 128:
        count.labels(platform="shopify", outcome="malformed").inc()
        return _answer(400, "rejected", "X-Shopify-Topic and X-Shopify-Webhook-Id are required")
    if topic not in TOPICS:
        count.labels(platform="shopify", outcome="unknown_topic").inc()
        return _answer(200, "ignored", f"topic {topic[:64]} is not used by Nudge")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        count.labels(platform="shopify", outcome="malformed").inc()
        return _answer(400, "rejected", f"body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        count.labels(platform="shopify", outcome="malformed").inc()
        return _answer(400, "rejected", "body: must be a JSON object")
    try:
        raw = await translate(topic, payload, webhook_id, app[SESSIONS])
        event = _EVENT.validate_python(raw) if raw is not None else None
    except Untranslatable as exc:
        count.labels(platform="shopify", outcome="malformed").inc()
        return _answer(400, "rejected", f"{topic}: {exc}")
    except ValidationError as exc:
        count.labels(platform="shopify", outcome="malformed").inc()
        return _answer(400, "rejected", f"{topic}: {describe_error(exc.errors(include_url=False))}")
    if event is None:
        count.labels(platform="shopify", outcome="ignored").inc()
        return _answer(200, "ignored")
    try:
        new_ids = await app[INGEST].submit(SHOP, [event])
    except Exception:  # the store, not the payload: 503 makes Shopify deliver it again
        log.exception("shopify %s webhook could not be stored", topic)
        count.labels(platform="shopify", outcome="unavailable").inc()
        return _answer(503, "unavailable", "could not store the event; retry")
    outcome = "accepted" if event.id in new_ids else "duplicate"
    count.labels(platform="shopify", outcome=outcome).inc()
    app[INTEGRATIONS]["shopify"].event(app[CLOCK].now())
    return _answer(200, outcome)
