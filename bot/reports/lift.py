"""Holdout lift (R-MX3): chains that got messages against the chains held out of them.

Both groups are counted alike, by assignment: every chain started in the period, recovered
when its checkout was paid within the attribution window after the chain started (a chain
paid before its first touch counts in both groups). Each variant's messaged chains are set
against the flow's whole holdout: held-out chains get no message, so their variant means
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from bot.reports import sql
from bot.reports.schemas import HoldoutReport, IncrementalRevenue, Lift, Rate
from bot.reports.stats import newcombe, wilson

# Below these the interval is too wide to say anything: the report says so instead.
MIN_CHAINS = 30
MIN_RECOVERIES = 10
_CENT = Decimal("0.01")
Verdict = Literal["lift", "harm", "no_clear_difference", "too_small", "no_holdout"]


def lift_sql(d: sql.Dialect, scope: sql.Scope) -> str:
    """Chains started in the period per flow, variant, holdout and currency."""
    paid = (
        "k.paid_at IS NOT NULL AND k.paid_at >= c.started_at"
        f" AND {d.delay('k.paid_at', 'c.started_at')} <= :window_s"
    )
    join, where = scope.period("c", "started_at")
    return f"""
SELECT c.flow, COALESCE(c.variant, '') AS variant, c.holdout AS holdout, k.currency AS currency,
  COUNT(*) AS chains,
  SUM(CASE WHEN {paid} THEN 1 ELSE 0 END) AS recovered,
  SUM(CASE WHEN {paid} THEN CAST(ROUND(k.total * 100) AS BIGINT) ELSE 0 END) AS cents
FROM chains c{join} LEFT JOIN checkouts k ON k.id = c.checkout_id
WHERE {where}
GROUP BY c.flow, COALESCE(c.variant, ''), c.holdout, k.currency"""


@dataclass
class _Group:
    chains: int = 0
    recovered: int = 0
    cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    orders: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        recovered = int(row["recovered"] or 0)
        self.chains += int(row["chains"] or 0)
        self.recovered += recovered
        if recovered:
            currency = row["currency"] or "???"
            self.cents[currency] += int(row["cents"] or 0)
            self.orders[currency] += recovered


def _rate(group: _Group) -> Rate:
    interval = wilson(group.recovered, group.chains)
    return Rate(value=interval.value, low=interval.low, high=interval.high, n=group.chains)


def _money(cents: float) -> Decimal:
    return (Decimal(cents) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def _revenue(
    messaged: _Group, holdout: _Group, lift: float | None, low: float | None, high: float | None
) -> list[IncrementalRevenue]:
    """Per currency: the lift × messaged chains × the average recovered order (both groups,
    that currency's share of the orders); the interval scales the lift's the same way, so the
    amount always lies inside it."""
    if holdout.chains == 0 or lift is None or low is None or high is None:
        return []
    out: list[IncrementalRevenue] = []
    orders = messaged.recovered + holdout.recovered
    for currency in sorted(set(messaged.cents) | set(holdout.cents)):
        cents_m, cents_h = messaged.cents.get(currency, 0), holdout.cents.get(currency, 0)
        in_currency = messaged.orders.get(currency, 0) + holdout.orders.get(currency, 0)
        average = (cents_m + cents_h) / in_currency if in_currency else 0.0
        scale = messaged.chains * average * (in_currency / orders if orders else 0.0)
        out.append(
            IncrementalRevenue(
                currency=currency,
                amount=_money(lift * scale),
                low=_money(low * scale),
                high=_money(high * scale),
            )
        )
    return out


def _verdict(messaged: _Group, holdout: _Group, low: float | None, high: float | None) -> Verdict:
    if holdout.chains == 0:
        return "no_holdout"
    if (
        min(messaged.chains, holdout.chains) < MIN_CHAINS
        or messaged.recovered + holdout.recovered < MIN_RECOVERIES
        or low is None
        or high is None
    ):
        return "too_small"
    if low > 0:
        return "lift"
    if high < 0:
        return "harm"
    return "no_clear_difference"


def _summary(verdict: Verdict, messaged: _Group, holdout: _Group) -> str:
    if verdict == "no_holdout":
        return "No chain of this flow was held out in the period: the lift cannot be measured."
    if verdict == "too_small":
        return (
            f"Too small to tell: {messaged.chains} messaged and {holdout.chains} held-out "
            f"chains with {messaged.recovered + holdout.recovered} recoveries (at least "
            f"{MIN_CHAINS} chains in each group and {MIN_RECOVERIES} recoveries are needed)."
        )
    if verdict == "lift":
        return "Messages recovered more orders than no messages (95 % interval above zero)."
    if verdict == "harm":
        return "Messaged chains recovered fewer orders than held-out ones (interval below zero)."
    return "No clear difference yet: the 95 % interval of the lift includes zero."


def _lift(variant: str | None, messaged: _Group, holdout: _Group) -> Lift:
    interval = newcombe(messaged.recovered, messaged.chains, holdout.recovered, holdout.chains)
    if holdout.chains == 0:
        interval = type(interval)(None, None, None)
    verdict = _verdict(messaged, holdout, interval.low, interval.high)
    return Lift(
        variant=variant,
        messaged_chains=messaged.chains,
        messaged_recovered=messaged.recovered,
        messaged_rate=_rate(messaged),
        holdout_chains=holdout.chains,
        holdout_recovered=holdout.recovered,
        holdout_rate=_rate(holdout),
        lift=interval.value,
        lift_low=interval.low,
        lift_high=interval.high,
        incremental_revenue=_revenue(
            messaged, holdout, interval.value, interval.low, interval.high
        ),
        verdict=verdict,
        summary=_summary(verdict, messaged, holdout),
    )


def holdout_reports(rows: list[dict[str, Any]]) -> dict[str, HoldoutReport]:
    """Per flow: every messaged chain, then each variant, against the flow's holdout."""
    messaged: dict[str, _Group] = defaultdict(_Group)
    by_variant: dict[tuple[str, str], _Group] = defaultdict(_Group)
    held: dict[str, _Group] = defaultdict(_Group)
    for row in rows:
        flow = row["flow"]
        if row["holdout"]:
            held[flow].add(row)
        else:
            messaged[flow].add(row)
            by_variant[flow, row["variant"]].add(row)
    reports: dict[str, HoldoutReport] = {}
    for flow in sorted(set(messaged) | set(held)):
        variants = sorted(v for f, v in by_variant if f == flow)
        reports[flow] = HoldoutReport(
            overall=_lift(None, messaged[flow], held[flow]),
            variants=[_lift(v, by_variant[flow, v], held[flow]) for v in variants],
        )
    return reports
