"""A fake Shopify Admin GraphQL API on loopback: `webhookSubscriptions` (paginated) and
`webhookSubscriptionCreate`, behind `X-Shopify-Access-Token`, for tests and local trials."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

_TOPICS = {
    "CHECKOUTS_CREATE",
    "CHECKOUTS_UPDATE",
    "ORDERS_CREATE",
    "ORDERS_PAID",
    "ORDERS_FULFILLED",
    "ORDERS_CANCELLED",
    "FULFILLMENTS_CREATE",
    "FULFILLMENTS_UPDATE",
    "CUSTOMERS_UPDATE",
    "PRODUCTS_UPDATE",
    "APP_UNINSTALLED",
}


class FakeShopifyAdmin:
    def __init__(self, token: str, page_size: int = 3) -> None:
        self.token = token
        self.page_size = page_size
        self.subscriptions: list[dict[str, Any]] = []
        self.creates = 0
        self._ids = itertools.count(1_000_000)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/admin/api/{version}/graphql.json", self._graphql)
        return app

    def add(self, topic: str, callback_url: str) -> dict[str, Any]:
        node = {
            "id": f"gid://shopify/WebhookSubscription/{next(self._ids)}",
            "topic": topic,
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": callback_url},
        }
        self.subscriptions.append(node)
        return node

    async def _graphql(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return web.json_response({"errors": message}, status=401)
        try:
            body = await request.json()
            query, variables = str(body["query"]), body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return web.json_response({"errors": [{"message": "Parse error"}]}, status=400)
        if "webhookSubscriptionCreate" in query:
            return web.json_response(
                {"data": {"webhookSubscriptionCreate": self._create(variables)}}
            )
        if "webhookSubscriptions" in query:
            return web.json_response({"data": {"webhookSubscriptions": self._page(variables)}})
        return web.json_response({"errors": [{"message": "unsupported query"}]})

    def _create(self, variables: dict[str, Any]) -> dict[str, Any]:
        topic = variables.get("topic")
        url = (variables.get("sub") or {}).get("callbackUrl")
        if topic not in _TOPICS:
            errors = [{"field": ["topic"], "message": f"Invalid topic {topic!r}"}]
            return {"webhookSubscription": None, "userErrors": errors}
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors = [{"field": ["webhookSubscription", "callbackUrl"], "message": "is invalid"}]
            return {"webhookSubscription": None, "userErrors": errors}
        if any(
            s["topic"] == topic and s["endpoint"]["callbackUrl"] == url for s in self.subscriptions
        ):
            errors = [{"field": ["webhookSubscription", "callbackUrl"],
                       "message": "Address for this topic has already been taken"}]  # fmt: skip
            return {"webhookSubscription": None, "userErrors": errors}
        self.creates += 1
        node = self.add(topic, url)
        return {"webhookSubscription": {"id": node["id"], "topic": topic}, "userErrors": []}

    def _page(self, variables: dict[str, Any]) -> dict[str, Any]:
        start = int(variables.get("after") or 0)
        chunk = self.subscriptions[start : start + self.page_size]
        end = start + len(chunk)
        return {
            "edges": [{"cursor": str(start + i + 1), "node": n} for i, n in enumerate(chunk)],
            "pageInfo": {"hasNextPage": end < len(self.subscriptions), "endCursor": str(end)},
        }
