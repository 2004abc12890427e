"""Order value and cost of the touches (R-MX1, R-MX4): average order value of recovered
orders beside every order of the period, messages and cost per recovered order."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.reports import sql
from bot.reports.schemas import AverageOrder, Cost, Money
from flows.replies import Prices

_CENT = Decimal("0.01")


def cost_sql(d: sql.Dialect, scope: sql.Scope) -> str:
    """Touches sent in the period per flow, channel and the country of the number (kept on
    the touch when it is planned: joining every touch to its contact costs seconds)."""
    return f"""
SELECT t.flow, t.channel, t.country, COUNT(*) AS sent
FROM {scope.touches()}
GROUP BY t.flow, t.channel, t.country"""


def orders_sql(d: sql.Dialect, scope: sql.Scope) -> str:
    """Every order paid in the period, per currency (the baseline of the recovered AOV)."""
    return """
SELECT k.currency, COUNT(*) AS orders, SUM(CAST(ROUND(k.total * 100) AS BIGINT)) AS cents
FROM checkouts k JOIN contacts ct ON ct.id = k.contact_id
WHERE k.status = 'paid' AND k.paid_at >= :from AND k.paid_at < :to AND ct.shop = :shop
GROUP BY k.currency ORDER BY k.currency"""


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def averages(totals: dict[str, tuple[int, Decimal]]) -> list[AverageOrder]:
    """(orders, amount) per currency → the average order per currency."""
    return [
        AverageOrder(currency=currency, orders=orders, average=_money(amount / orders))
        for currency, (orders, amount) in sorted(totals.items())
        if orders > 0
    ]


def order_totals(rows: list[dict[str, Any]]) -> dict[str, tuple[int, Decimal]]:
    return {
        r["currency"] or "???": (int(r["orders"]), Decimal(int(r["cents"] or 0)) / 100)
        for r in rows
    }


def costs(rows: list[dict[str, Any]], prices: Prices, recovered: dict[str, int]) -> dict[str, Cost]:
    """Per flow: what its touches cost by the price table, and per recovered order."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    unpriced: dict[str, int] = defaultdict(int)
    for row in rows:
        flow, sent = row["flow"], int(row["sent"] or 0)
        price = prices.price(row["channel"] or "", row["country"])
        if price is None:
            unpriced[flow] += sent
        else:
            total[flow] += price * sent
    out: dict[str, Cost] = {}
    for flow in set(total) | set(unpriced):
        orders = recovered.get(flow, 0)
        out[flow] = Cost(
            currency=prices.currency,
            total=_money(total[flow]),
            per_recovered_order=_money(total[flow] / orders) if orders else None,
            unpriced_messages=unpriced[flow],
        )
    return out


def as_money(totals: dict[str, tuple[int, Decimal]]) -> list[Money]:
    return [Money(currency=c, amount=_money(a), orders=n) for c, (n, a) in sorted(totals.items())]
