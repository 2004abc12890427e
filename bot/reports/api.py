"""`GET /api/v1/reports/recovery` and `/api/v1/reports/timeseries` (shop API key)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bot.api.keys import bearer_token
from bot.api.openapi import Operation, document
from bot.api.schemas import ErrorBody
from bot.app_keys import CLOCK, KEYRING, METRICS, SESSIONS, SETTINGS
from bot.reports.schemas import RecoveryReport, TimeSeries
from bot.reports.service import Query, recovery_report, timeseries
from flows.replies import Prices

DEFAULT_DAYS = 30
MAX_DAYS = 366
_FLOW = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_PARAMS = ("from", "to", "flow")


class ParamError(ValueError):
    """A query parameter is unusable; the message starts with its name."""


def _when(name: str, raw: str, *, end: bool) -> datetime:
    """A date (whole UTC day; `to` includes it) or an RFC 3339 time with an offset."""
    raw = raw.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise ParamError(f"{name}: not a valid date: {raw!r}") from exc
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ParamError(f"{name}: must be YYYY-MM-DD or an RFC 3339 time, got {raw!r}") from exc
    if value.tzinfo is None:
        raise ParamError(f"{name}: must include a UTC offset, e.g. {raw}Z")
    if not 2000 <= value.year <= 2200:
        raise ParamError(f"{name}: must be between the years 2000 and 2200")
    return value.astimezone(UTC)


def parse_query(
    params: Mapping[str, str], shop: str, now: datetime, attribution_hours: int
) -> Query:
    """Validate `from`, `to` and `flow`; default is the last 30 days up to now."""
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise ParamError(f"{unknown[0]}: unknown parameter (allowed: from, to, flow)")
    end = _when("to", params["to"], end=True) if params.get("to") else now
    start = (
        _when("from", params["from"], end=False)
        if params.get("from")
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ParamError("from: must be earlier than to")
    if end - start > timedelta(days=MAX_DAYS):
        raise ParamError(f"from: the period may span at most {MAX_DAYS} days")
    flow = params.get("flow") or None
    if flow is not None and not _FLOW.match(flow):
        raise ParamError("flow: must be a flow name (letters, digits, _ . -; up to 64)")
    return Query(shop=shop, start=start, end=end, flow=flow, attribution_hours=attribution_hours)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


Builder = Callable[[web.Request, Query], Awaitable[BaseModel]]
PriceTable = Callable[[], Prices]  # the shop settings' prices as they stand now


async def run_report(
    request: web.Request, shop: str, build: Builder, params: Mapping[str, str] | None = None
) -> web.Response:
    """Shared by the shop API and the console: parse, build, answer JSON (422 names the param)."""
    app = request.app
    try:
        query = parse_query(
            request.query if params is None else params,
            shop,
            app[CLOCK].now(),
            app[SETTINGS].attribution_hours,
        )
    except ParamError as exc:
        return _error(422, str(exc))
    started = perf_counter()
    report = await build(request, query)
    app[METRICS].report_seconds.labels(report=type(report).__name__).observe(
        perf_counter() - started
    )
    return web.json_response(text=report.model_dump_json())


def recovery_builder(prices: PriceTable) -> Builder:
    """The recovery report, priced with the shop settings in force when it is asked for."""

    async def build_recovery(request: web.Request, query: Query) -> RecoveryReport:
        app = request.app
        return await recovery_report(app[SESSIONS], query, app[CLOCK].now(), prices())

    return build_recovery


async def build_timeseries(request: web.Request, query: Query) -> TimeSeries:
    return await timeseries(request.app[SESSIONS], query)


async def _shop(request: web.Request) -> str | None:
    return await request.app[KEYRING].shop_for(bearer_token(request.headers.get("Authorization")))


def shop_endpoint(build: Builder) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        shop = await _shop(request)
        if shop is None:
            return _error(401, "missing or unknown API key: send Authorization: Bearer <key>")
        return await run_report(request, shop, build)

    return handler


get_timeseries = shop_endpoint(build_timeseries)


def _query_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


_QUERY_DOC = [
    _query_parameter(
        "from", "Start (YYYY-MM-DD = that UTC day, or RFC 3339); default: `to` − 30 days."
    ),
    _query_parameter("to", "End, exclusive (a date includes that whole UTC day); default: now."),
    _query_parameter("flow", "Only this flow."),
]


def _document_report(path: str, summary: str, body: type[BaseModel]) -> None:
    """A report endpoint: the period and flow in the query, the shop's API key required."""
    responses: dict[str, type[BaseModel] | None] = {"200": body, "401": ErrorBody, "422": ErrorBody}
    document(
        Operation(
            path=path, method="GET", summary=summary, parameters=_QUERY_DOC, responses=responses
        )
    )


_document_report(
    "/api/v1/reports/recovery",
    "Recovery per flow, touch and variant with intervals and A/B comparisons.",
    RecoveryReport,
)
_document_report(
    "/api/v1/reports/timeseries",
    "Daily sent, reply, recovery, opt-out and handoff counts and rates (UTC days).",
    TimeSeries,
)
