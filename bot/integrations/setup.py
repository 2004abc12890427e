"""Wiring of the shop integrations: Shopify webhooks, the retailCRM sync, their status."""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import HEALTH_PROBES, SETTINGS
from bot.integrations import shopify
from bot.integrations.status import INTEGRATIONS, IntegrationStatus


def setup(app: web.Application) -> None:
    """Register this part's routes, jobs and health lines on the application."""
    settings = app[SETTINGS]
    app[INTEGRATIONS] = {
        "shopify": IntegrationStatus("shopify", bool(settings.shopify_webhook_secret)),
        "retailcrm": IntegrationStatus(
            "retailcrm", bool(settings.retailcrm_url and settings.retailcrm_api_key)
        ),
    }
    app.router.add_post("/integrations/shopify/webhooks", shopify.post_webhook)
    if app[INTEGRATIONS]["retailcrm"].configured:
        app[HEALTH_PROBES]["retailcrm"] = lambda: app[INTEGRATIONS]["retailcrm"].health
