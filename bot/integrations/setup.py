"""The shop integrations in the app: Shopify webhooks, the retailCRM sync, their status."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from aiohttp import web

from bot.app_keys import CLOCK, EVENT_LISTENERS, HEALTH_PROBES, SCHEDULER, SESSIONS, SETTINGS
from bot.integrations import shopify
from bot.integrations.retailcrm import RetailCrmSync
from bot.integrations.status import INTEGRATIONS, IntegrationStatus
from flows.designer import DesignerFiles

RETAILCRM_SYNC: web.AppKey[RetailCrmSync] = web.AppKey("retailcrm_sync")


async def _retailcrm(designer_files: DesignerFiles, app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    status = app[INTEGRATIONS]["retailcrm"]
    sync = RetailCrmSync(
        app[SESSIONS],
        app[CLOCK],
        app[EVENT_LISTENERS],
        status,
        base_url=settings.retailcrm_url,
        api_key=settings.retailcrm_api_key,
        timezone=settings.default_timezone,
        shop=designer_files.shop,
    )
    app[RETAILCRM_SYNC] = sync
    app[HEALTH_PROBES]["retailcrm"] = lambda: status.health
    app[SCHEDULER].add_cron(
        "retailcrm-sync", sync.run, minute=f"*/{settings.retailcrm_sync_minutes}"
    )
    yield


def setup(app: web.Application, designer_files: DesignerFiles) -> None:
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
        app.cleanup_ctx.append(functools.partial(_retailcrm, designer_files))
