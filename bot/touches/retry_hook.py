"""The shop's payment retry hook (R-FL2 platform_error): one POST, success or not.

Its address is the shop's: NUDGE_SHOP_RETRY_URL, else flows/shop.yml `retry_hook_url`;
the sandbox falls back to its own fake hook, live mode to none (the retry is skipped).
"""

from __future__ import annotations

import logging

import httpx

from bot.settings import Settings
from bot.touches.policy import Context
from flows.model import RetryHook
from flows.replies import Shop

log = logging.getLogger(__name__)


SANDBOX_HOOK = "/sandbox/shop/retry"


def retry_url(shop: Shop, settings: Settings) -> str | None:
    """Where the shop's retry hook is; None when live mode has none."""
    url = settings.shop_retry_url or shop.retry_hook_url
    if url:
        return url
    return settings.public_url.rstrip("/") + SANDBOX_HOOK if settings.sandbox else None


async def call_retry_hook(hook: RetryHook, ctx: Context, url: str) -> bool:
    """POST {checkout_id, contact_id}; True when the shop answers 2xx with `"status": "paid"`."""
    checkout = ctx.checkout
    body = {
        "checkout_id": checkout.external_id if checkout is not None else None,
        "contact_id": ctx.contact.external_id,
        "reason": "platform_error",
    }
    try:
        async with httpx.AsyncClient(timeout=hook.timeout.total_seconds()) as client:
            response = await client.post(url, json=body)
        if response.status_code // 100 != 2:
            log.info("retry hook answered %s", response.status_code)
            return False
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("retry hook failed: %s", type(exc).__name__)
        return False
    return isinstance(data, dict) and data.get("status") in ("paid", "ok", "succeeded")
