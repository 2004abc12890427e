"""Builds the recovery report and the daily series from the SQL aggregates (bot/reports/sql.py)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports import sql
from bot.reports.economics import averages, cost_sql, costs, order_totals, orders_sql
from bot.reports.lift import holdout_reports, lift_sql
from bot.reports.outcomes import refresh_outcomes
from bot.reports.satisfaction import daily_ratings_sql, ratings_sql, satisfaction_groups
from bot.reports.schemas import (
    Comparison,
    ConversationReport,
    DayPoint,
    FlowReport,
    Money,
    Rate,
    RecoveryReport,
    StepReport,
    TimeSeries,
    VariantReport,
)
from bot.reports.stats import rate, two_proportion_z, wilson
from bot.store.db import SessionFactory
from bot.store.dialect import is_postgresql
from bot.store.models import Contact
from flows.replies import Prices

SIGNIFICANCE = 0.05
CONTROL_NAMES = ("control",)
_CENT = Decimal("0.01")
WORK_MEM = "64MB"
SqlBuilder = Callable[[sql.Dialect, sql.Scope], str]


@dataclass(frozen=True)
class Query:
    """What a report is about: the shop, the half-open period [start, end) and a flow."""

    shop: str
    start: datetime
    end: datetime
    flow: str | None
    attribution_hours: int

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.attribution_hours)


def _rate(successes: int, trials: int) -> Rate:
    interval = wilson(successes, trials)
    return Rate(value=interval.value, low=interval.low, high=interval.high, n=trials)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _dialect(session: AsyncSession) -> sql.Dialect:
    return sql.Dialect(postgres=is_postgresql(session))


async def _prepare(session: AsyncSession, q: Query) -> tuple[sql.Dialect, sql.Scope]:
    """Session settings for one big read, and whether the shop filter is needed at all."""
    d = _dialect(session)
    if d.postgres:
        # JIT compilation costs seconds here and gains nothing; sorts stay in memory
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    other_shop = await session.scalar(
        select(Contact.id).where(or_(Contact.shop < q.shop, Contact.shop > q.shop)).limit(1)
    )
    return d, sql.Scope(flow=q.flow is not None, shop=other_shop is not None)


async def _rows(
    session: AsyncSession, d: sql.Dialect, text_sql: str, q: Query
) -> list[dict[str, Any]]:
    statement, params = sql.bind(
        text_sql, d, shop=q.shop, start=q.start, end=q.end, window=q.window, flow=q.flow
    )
    result = await session.execute(statement, params)
    return [dict(row) for row in result.mappings().all()]


def _money(totals: dict[str, tuple[int, Decimal]]) -> list[Money]:
    return [
        Money(currency=currency, amount=amount, orders=orders)
        for currency, (orders, amount) in sorted(totals.items())
    ]


def _variant(row: dict[str, Any], revenue: dict[str, tuple[int, Decimal]]) -> VariantReport:
    n = {k: int(row[k] or 0) for k in ("sent", "delivered", "was_read", "replied", "recovered")}
    opted, handoffs, deflected = (int(row[k] or 0) for k in ("opted_out", "handoffs", "deflected"))
    negative, complaints = int(row.get("negative") or 0), int(row.get("complaints") or 0)
    sent = n["sent"]
    return VariantReport(
        variant=row["variant"],
        sent=sent,
        delivered=n["delivered"],
        read=n["was_read"],
        replied=n["replied"],
        recovered=n["recovered"],
        opted_out=opted,
        negative=negative,
        complaints=complaints,
        handoffs=handoffs,
        deflected=deflected,
        recovery_rate=_rate(n["recovered"], sent),
        delivery_rate=_rate(n["delivered"], sent),
        read_rate=_rate(n["was_read"], sent),
        reply_rate=_rate(n["replied"], sent),
        opt_out_rate=_rate(opted, sent),
        complaint_rate=_rate(complaints, sent),
        handoff_rate=_rate(handoffs, sent),
        deflection_rate=_rate(deflected, n["replied"]),
        median_first_answer_seconds=_float(row["median_answer_seconds"]),
        recovered_revenue=_money(revenue),
    )


def pick_control(variants: list[str]) -> str | None:
    """The variant named `control`, else the first by name (so `A` before `B`)."""
    if not variants:
        return None
    for name in CONTROL_NAMES:
        if name in variants:
            return name
    return sorted(variants)[0]


def compare(control: VariantReport, other: VariantReport) -> Comparison:
    test = two_proportion_z(control.recovered, control.sent, other.recovered, other.sent)
    c_rate, o_rate = rate(control.recovered, control.sent), rate(other.recovered, other.sent)
    difference = None if c_rate is None or o_rate is None else o_rate - c_rate
    significant = test.p_value < SIGNIFICANCE
    return Comparison(
        variant=other.variant,
        control=control.variant,
        control_sent=control.sent,
        control_recovered=control.recovered,
        variant_sent=other.sent,
        variant_recovered=other.recovered,
        difference=difference,
        z=test.z,
        p_value=test.p_value,
        significant=significant,
        worse=significant and difference is not None and difference < 0,
    )


def _step(step: str, variants: list[VariantReport]) -> StepReport:
    control_name = pick_control([v.variant for v in variants]) if len(variants) > 1 else None
    control = next((v for v in variants if v.variant == control_name), None)
    comparisons = (
        [compare(control, v) for v in variants if v is not control] if control is not None else []
    )
    return StepReport(step=step, control=control_name, variants=variants, comparisons=comparisons)


async def _conversations(session: AsyncSession, d: sql.Dialect, q: Query) -> ConversationReport:
    rows = await _rows(session, d, sql.conversations_sql(d), q)
    row = rows[0]
    active, escalated, deflected = (int(row[k] or 0) for k in ("active", "escalated", "deflected"))
    return ConversationReport(
        active=active,
        escalated=escalated,
        deflected=deflected,
        resolved_by_operator=int(row["by_operator"] or 0),
        resolved_by_bot=int(row["by_bot"] or 0),
        handoff_rate=_rate(escalated, active),
        deflection_rate=_rate(deflected, active),
        median_first_answer_seconds=_float(row["median_answer_seconds"]),
    )


async def _statement(sessions: SessionFactory, q: Query, build: SqlBuilder) -> list[dict[str, Any]]:
    async with sessions() as session:
        d, scope = await _prepare(session, q)
        return await _rows(session, d, build(d, scope), q)


async def _conversation_rows(sessions: SessionFactory, q: Query) -> ConversationReport:
    async with sessions() as session:
        d, _ = await _prepare(session, q)
        return await _conversations(session, d, q)


async def recovery_report(
    sessions: SessionFactory, q: Query, now: datetime, prices: Prices | None = None
) -> RecoveryReport:
    """The independent statements run at once, each on its own connection."""
    await refresh_outcomes(sessions)  # every write committed before the report counts
    builders: list[SqlBuilder] = [
        sql.groups_sql,
        sql.revenue_sql,
        lift_sql,
        cost_sql,
        orders_sql,
        ratings_sql,
    ]
    results, conversations = await asyncio.gather(
        asyncio.gather(*(_statement(sessions, q, build) for build in builders)),
        _conversation_rows(sessions, q),
    )
    groups, revenue_rows, lift_rows, cost_rows, order_rows, rating_rows = results
    holdouts = holdout_reports(lift_rows)
    recovered_by_flow: dict[str, int] = defaultdict(int)
    for row in groups:
        recovered_by_flow[row["flow"]] += int(row["recovered"] or 0)
    flow_costs = costs(cost_rows, prices or Prices(), recovered_by_flow)
    chains: dict[str, int] = defaultdict(int)
    for row in groups:
        chains[row["flow"]] += int(row["chains"] or 0)
    revenue: dict[tuple[str, str, str], dict[str, tuple[int, Decimal]]] = defaultdict(dict)
    for r in revenue_rows:
        key = (r["flow"], r["step"], r["variant"])
        cents = Decimal(int(r["cents"] or 0)) / 100  # summed in cents: exact on SQLite too
        revenue[key][r["currency"] or "???"] = (int(r["orders"]), cents.quantize(_CENT))

    steps: dict[str, dict[str, list[VariantReport]]] = defaultdict(dict)
    for row in groups:
        key = (row["flow"], row["step"], row["variant"])
        steps[row["flow"]].setdefault(row["step"], []).append(_variant(row, revenue[key]))

    flows: list[FlowReport] = []
    flagged: list[str] = []
    for flow, by_step in steps.items():
        step_reports = [_step(step, variants) for step, variants in by_step.items()]
        every = [v for s in step_reports for v in s.variants]
        reached, recovered = chains.get(flow, 0), sum(v.recovered for v in every)
        sent = sum(v.sent for v in every)
        totals: dict[str, tuple[int, Decimal]] = {}
        for v in every:
            for m in v.recovered_revenue:
                orders, amount = totals.get(m.currency, (0, Decimal(0)))
                totals[m.currency] = (orders + m.orders, amount + m.amount)
        flows.append(
            FlowReport(
                flow=flow,
                chains=reached,
                sent=sent,
                recovered=recovered,
                recovery_rate=_rate(min(recovered, reached), reached),
                recovered_revenue=_money(totals),
                steps=step_reports,
                average_recovered_order=averages(totals),
                messages_per_recovered_order=(sent / recovered) if recovered else None,
                cost=flow_costs.get(flow),
                holdout=holdouts.get(flow),
            )
        )
        flagged += [
            f"{flow}/{s.step}/{c.variant}" for s in step_reports for c in s.comparisons if c.worse
        ]
    return RecoveryReport(
        shop=q.shop,
        period_from=q.start,
        period_to=q.end,
        attribution_hours=q.attribution_hours,
        generated_at=now,
        flows=flows,
        conversations=conversations,
        satisfaction=satisfaction_groups(rating_rows),
        average_order=averages(order_totals(order_rows)),
        flagged=flagged,
    )


async def timeseries(sessions: SessionFactory, q: Query) -> TimeSeries:
    """Daily counts and rates by UTC day of sending; days without touches are zeros."""
    await refresh_outcomes(sessions)  # every write committed before the report counts
    rows = {r["day"]: r for r in await _statement(sessions, q, sql.daily_sql)}
    rated = {r["day"]: r for r in await _statement(sessions, q, daily_ratings_sql)}
    days: list[DayPoint] = []
    day = q.start.date()
    last = (q.end - timedelta(microseconds=1)).date()
    while day <= last:
        row = rows.get(day.isoformat(), {})
        days.append(_point(day, row, rated.get(day.isoformat(), {})))
        day += timedelta(days=1)
    return TimeSeries(shop=q.shop, period_from=q.start, period_to=q.end, flow=q.flow, days=days)


def _point(day: date, row: dict[str, Any], ratings: dict[str, Any]) -> DayPoint:
    keys = ("sent", "delivered", "was_read", "replied", "recovered", "opted_out", "handoffs")
    n = {k: int(row.get(k) or 0) for k in keys}
    sent = n["sent"]
    return DayPoint(
        day=day,
        sent=sent,
        delivered=n["delivered"],
        read=n["was_read"],
        replied=n["replied"],
        recovered=n["recovered"],
        opted_out=n["opted_out"],
        handoffs=n["handoffs"],
        reply_rate=rate(n["replied"], sent),
        recovery_rate=rate(n["recovered"], sent),
        opt_out_rate=rate(n["opted_out"], sent),
        handoff_rate=rate(n["handoffs"], sent),
        rated=int(ratings.get("rated") or 0),
        csat=rate(int(ratings.get("satisfied") or 0), int(ratings.get("rated") or 0)),
    )
