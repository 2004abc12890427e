"""A fake retailCRM API v5 on loopback: `/api/v5/orders/history` (filter[sinceId] or
filter[startDate], limit, pagination; 400 for sinceId with page, as the real one) and
`/api/v5/orders/{id}?by=id`, behind `apiKey`; it can answer 503 on demand."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from aiohttp import web

_STAMP = "%Y-%m-%d %H:%M:%S"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"success": False, "errorMsg": message}, status=status)


class FakeRetailCrm:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.records: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.unavailable = 0  # answer this many requests with 503 first
        self.requests: list[dict[str, str]] = []
        self._ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v5/orders/history", self._history)
        app.router.add_get("/api/v5/orders/{id}", self._order)
        return app

    def add_order(self, order: dict[str, Any]) -> None:
        self.orders[str(order["id"])] = order

    def change(
        self, order_id: int, field: str, old: str | None, new: str, at: str, *, full: bool = False
    ) -> dict[str, Any]:
        """A history record as retailCRM writes it; the order is named by id only unless
        `full` (as in the record of a created order)."""
        order = self.orders[str(order_id)]
        keys = ("id", "externalId", "site", "status")
        named = order if full else {key: order.get(key) for key in keys}
        record = {
            "id": next(self._ids),
            "createdAt": at,
            "source": "user",
            "user": {"id": 7},
            "field": field,
            "oldValue": {"code": old} if old else None,
            "newValue": {"code": new},
            "order": named,
        }
        self.records.append(record)
        return record

    def _guard(self, request: web.Request) -> web.Response | None:
        self.requests.append(dict(request.query))
        if self.unavailable > 0:
            self.unavailable -= 1
            return _error(503, "Service temporarily unavailable")
        if request.query.get("apiKey") != self.api_key:
            return _error(403, 'Wrong "apiKey" value.')
        return None

    async def _history(self, request: web.Request) -> web.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        query = request.query
        if "filter[sinceId]" in query and "page" in query:
            return _error(400, "Parameters filter[sinceId] and page cannot be used together")
        try:
            limit = int(query.get("limit", "20"))
            page = int(query.get("page", "1"))
            since = int(query.get("filter[sinceId]", "0"))
            start = query.get("filter[startDate]")
            start_at = datetime.strptime(start, _STAMP) if start else None
        except ValueError:
            return _error(400, "Errors in the input parameters")
        if limit not in (20, 50, 100):
            return _error(400, "limit must be 20, 50 or 100")
        found = [
            r
            for r in self.records
            if r["id"] > since
            and (start_at is None or str(r["createdAt"]) >= start_at.strftime(_STAMP))
        ]
        pages = max(1, -(-len(found) // limit))
        chunk = found[(page - 1) * limit : page * limit]
        return web.json_response(
            {
                "success": True,
                "history": chunk,
                "generatedAt": "2026-03-02 12:00:00",
                "pagination": {
                    "limit": limit,
                    "totalCount": len(found),
                    "currentPage": page,
                    "totalPageCount": pages,
                },
            }
        )

    async def _order(self, request: web.Request) -> web.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        order = self.orders.get(request.match_info["id"])
        if request.query.get("by") != "id" or order is None:
            return _error(404, "Not found")
        return web.json_response({"success": True, "order": order})
