"""`nudge shopify connect --shop NAME.myshopify.com` (R-IN2): subscribe Nudge's webhook topics
through the Admin GraphQL API, idempotently — existing subscriptions are listed first and only
the missing ones are created, so a second run creates nothing."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.cli_commands import REGISTRARS, Commands
from bot.integrations.shopify import TOPICS
from bot.settings import Settings

API_VERSION = "2024-10"
WEBHOOK_PATH = "/integrations/shopify/webhooks"
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")

LIST_QUERY = """
query NudgeWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    edges { node { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_MUTATION = """
mutation NudgeSubscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}"""


class ShopifyAdminError(RuntimeError):
    """The Admin API refused or answered something unusable; the message says what."""


def topic_enum(topic: str) -> str:
    """`checkouts/create` → `CHECKOUTS_CREATE`, the GraphQL WebhookSubscriptionTopic."""
    return topic.replace("/", "_").upper()


@dataclass
class ConnectResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


class AdminClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._url = f"{base_url}/admin/api/{API_VERSION}/graphql.json"
        self._headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}

    async def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = {"query": query, "variables": variables}
        async with self._session.post(self._url, json=body, headers=self._headers) as response:
            if response.status == 401:
                raise ShopifyAdminError("the Admin API refused NUDGE_SHOPIFY_ACCESS_TOKEN (401)")
            if response.status != 200:
                raise ShopifyAdminError(f"the Admin API answered HTTP {response.status}")
            answer: dict[str, Any] = await response.json(content_type=None)
        if answer.get("errors"):
            raise ShopifyAdminError(f"the Admin API answered errors: {answer['errors']}"[:300])
        data = answer.get("data")
        if not isinstance(data, dict):
            raise ShopifyAdminError("the Admin API answer has no data")
        return data

    async def subscriptions(self) -> list[tuple[str, str | None]]:
        """(topic enum, callback URL) of every subscription of this app."""
        found: list[tuple[str, str | None]] = []
        after: str | None = None
        while True:
            page = (await self.call(LIST_QUERY, {"after": after}))["webhookSubscriptions"]
            for edge in page["edges"]:
                node = edge["node"]
                found.append((node["topic"], (node.get("endpoint") or {}).get("callbackUrl")))
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    async def subscribe(self, topic: str, callback_url: str) -> None:
        variables = {"topic": topic, "sub": {"callbackUrl": callback_url, "format": "JSON"}}
        result = (await self.call(CREATE_MUTATION, variables))["webhookSubscriptionCreate"]
        if result.get("userErrors"):
            raise ShopifyAdminError(f"{topic}: {result['userErrors']}"[:300])


async def connect(base_url: str, token: str, callback_url: str) -> ConnectResult:
    result = ConnectResult()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = AdminClient(session, base_url, token)
        have = {topic for topic, url in await client.subscriptions() if url == callback_url}
        for topic in (topic_enum(t) for t in TOPICS):
            if topic in have:
                result.existing.append(topic)
            else:
                await client.subscribe(topic, callback_url)
                result.created.append(topic)
    return result


def _cmd_connect(settings: Settings, args: argparse.Namespace) -> int:
    shop = str(args.shop).strip().lower()
    if not _SHOP.match(shop):
        print(f"nudge: --shop must look like NAME.myshopify.com, got {shop!r}", file=sys.stderr)
        return 2
    if not settings.shopify_access_token:
        print("nudge: set NUDGE_SHOPIFY_ACCESS_TOKEN (the app's Admin API token)", file=sys.stderr)
        return 2
    base_url = settings.shopify_api_url or f"https://{shop}"
    callback = settings.public_url + WEBHOOK_PATH
    if not settings.shopify_api_url and not callback.startswith("https://"):
        print(f"nudge: Shopify needs an https callback; NUDGE_PUBLIC_URL gives {callback}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        result = asyncio.run(connect(base_url, settings.shopify_access_token, callback))
    except (ShopifyAdminError, aiohttp.ClientError, TimeoutError) as exc:
        print(f"nudge: shopify connect failed: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    for topic in result.created:
        print(f"subscribed {topic} → {callback}")
    for topic in result.existing:
        print(f"already subscribed {topic}")
    if not settings.shopify_webhook_secret:
        print("note: set NUDGE_SHOPIFY_WEBHOOK_SECRET, or every webhook is refused with 401")
    return 0


def _register(commands: Commands) -> None:
    shopify = commands.add_parser("shopify", help="connect a Shopify shop")
    sub = shopify.add_subparsers(dest="shopify_command", required=True)
    connect_cmd = sub.add_parser("connect", help="subscribe Nudge's webhook topics (idempotent)")
    connect_cmd.add_argument("--shop", required=True, help="NAME.myshopify.com")
    connect_cmd.set_defaults(handler=_cmd_connect)


REGISTRARS.append(_register)
