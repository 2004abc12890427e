"""The report queries, aggregated by the database (SQLite and PostgreSQL alike).

Attribution is kept per touch by bot/reports/outcomes.py (the last touch sent before an
outcome gets it; the columns hold the delay). Here the attribution window is applied
(`delay <= :window_s`), so a chain's touches share at most one recovery, and a chain
counts as recovered when its checkout is paid within the window after one of its touches.
Each statement reads the touches sent in the period once, without joining the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, bindparam, text

from bot.store.models import UtcDateTime


@dataclass(frozen=True)
class Dialect:
    """The SQL fragments that differ between PostgreSQL and SQLite."""

    postgres: bool

    def seconds(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"

    def day(self, at: str) -> str:
        if self.postgres:
            return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({at}, 1, 10)"

    def delay(self, later: str, earlier: str) -> str:
        """Seconds from `earlier` to `later`; on SQLite rounded to the millisecond so the
        float arithmetic of julianday does not move an outcome across the window edge."""
        if self.postgres:
            return self.seconds(later, earlier)
        return f"ROUND({self.seconds(later, earlier)}, 3)"

    def differs(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}" if self.postgres else f"{a} IS NOT {b}"


@dataclass(frozen=True)
class Scope:
    """Which filters the statement carries: a flow, and the shop join (skipped with one shop)."""

    flow: bool
    shop: bool = True

    def period(self, alias: str, at: str) -> tuple[str, str]:
        """The contacts join (alias `ct`) and the WHERE conditions selecting the rows of table
        alias `alias` whose `at` column falls in the period, of the shop and flow asked for."""
        join = f" JOIN contacts ct ON ct.id = {alias}.contact_id" if self.shop else ""
        where = f"{alias}.{at} >= :from AND {alias}.{at} < :to"
        if self.shop:
            where += " AND ct.shop = :shop"
        if self.flow:
            where += f" AND {alias}.flow = :flow"
        return join, where

    def touches(self, joins: str = "") -> str:
        """FROM/WHERE fragment selecting the touches sent in the period (alias `t`)."""
        join, where = self.period("t", "sent_at")
        return f"touches t{join}{joins} WHERE {where}"


def _within(column: str) -> str:
    """The outcome followed the touch within the attribution window (NULL: none did)."""
    return f"t.{column} <= :window_s"


_COUNTS = f"""
  COUNT(*) AS sent,
  SUM(CASE WHEN t.delivered THEN 1 ELSE 0 END) AS delivered,
  SUM(CASE WHEN t.was_read THEN 1 ELSE 0 END) AS was_read,
  SUM(CASE WHEN {_within("replied_after_s")} THEN 1 ELSE 0 END) AS replied,
  SUM(CASE WHEN {_within("paid_after_s")} THEN 1 ELSE 0 END) AS recovered,
  SUM(CASE WHEN {_within("opted_out_after_s")} THEN 1 ELSE 0 END) AS opted_out,
  SUM(CASE WHEN {_within("negative_after_s")} THEN 1 ELSE 0 END) AS negative,
  SUM(CASE WHEN {_within("opted_out_after_s")} OR {_within("negative_after_s")}
    THEN 1 ELSE 0 END) AS complaints,
  SUM(CASE WHEN {_within("handoff_after_s")} THEN 1 ELSE 0 END) AS handoffs,
  SUM(CASE WHEN {_within("replied_after_s")}
    AND (t.handoff_after_s IS NULL OR t.handoff_after_s > :window_s) THEN 1 ELSE 0 END)
    AS deflected"""

# The earliest touch of a chain in the period is the one whose previous touch is older.
_FIRST_OF_CHAIN = """
  SUM(CASE WHEN t.chain_prev_sent_at IS NULL OR t.chain_prev_sent_at < :from
    THEN 1 ELSE 0 END) AS chains"""


def groups_sql(d: Dialect, scope: Scope) -> str:
    """One row per (flow, step, variant): counts, chains reached and the median answer time.

    The median runs over the few touches followed by an answered handoff (a partial index
    finds them), by a window (SQLite has no percentile; PostgreSQL's forbids hash aggregation).
    """
    variant = "COALESCE(t.variant, '')"
    return f"""
WITH agg AS (
  SELECT t.flow, t.step, {variant} AS variant, {_COUNTS.strip()},{_FIRST_OF_CHAIN},
    MIN(t.sent_at) AS first_sent
  FROM {scope.touches()}
  GROUP BY t.flow, t.step, {variant}
),
answered AS (
  SELECT t.flow, t.step, {variant} AS variant, t.handoff_answer_s AS answer_seconds
  FROM {scope.touches()}
    AND t.handoff_after_s IS NOT NULL AND {_within("handoff_after_s")}
    AND t.handoff_answer_s IS NOT NULL
),
ranked AS (
  SELECT flow, step, variant, answer_seconds,
    ROW_NUMBER() OVER (PARTITION BY flow, step, variant ORDER BY answer_seconds) AS rn,
    COUNT(*) OVER (PARTITION BY flow, step, variant) AS n
  FROM answered
),
med AS (
  SELECT flow, step, variant, AVG(answer_seconds) AS median_answer_seconds
  FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY flow, step, variant
)
SELECT agg.*, med.median_answer_seconds
FROM agg LEFT JOIN med
  ON med.flow = agg.flow AND med.step = agg.step AND med.variant = agg.variant
ORDER BY agg.flow, agg.first_sent, agg.step, agg.variant"""


def revenue_sql(d: Dialect, scope: Scope) -> str:
    """Recovered revenue per (flow, step, variant, currency); only recovered touches are read
    (the touch keeps its payment's amount, so a partial index covers the whole statement)."""
    return f"""
SELECT t.flow, t.step, COALESCE(t.variant, '') AS variant, t.paid_currency AS currency,
  COUNT(*) AS orders, SUM(t.paid_cents) AS cents
FROM {scope.touches()}
  AND t.paid_after_s IS NOT NULL AND {_within("paid_after_s")}
GROUP BY t.flow, t.step, COALESCE(t.variant, ''), t.paid_currency
ORDER BY 1, 2, 3, 4"""


def daily_sql(d: Dialect, scope: Scope) -> str:
    """One row per UTC day the touches were sent."""
    return f"""
SELECT {d.day("t.sent_at")} AS day, {_COUNTS.strip()}
FROM {scope.touches()}
GROUP BY {d.day("t.sent_at")} ORDER BY 1"""


def conversations_sql(d: Dialect) -> str:
    """Conversations active in the period: handed off, answered, deflected; median answer."""
    active = "(cv.last_inbound_at >= :from AND cv.last_inbound_at < :to)"
    escalated = "(cv.escalated_at >= :from AND cv.escalated_at < :to)"
    answer = d.seconds("cv.first_operator_reply_at", "cv.escalated_at")
    return f"""
WITH conv AS (
  SELECT CASE WHEN {escalated} THEN 1 ELSE 0 END AS escalated,
    CASE WHEN {escalated} AND cv.first_operator_reply_at IS NOT NULL
      THEN {answer} END AS answer_seconds,
    cv.resolved_by
  FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id
  WHERE ct.shop = :shop AND ({active} OR {escalated})
),
ranked AS (
  SELECT answer_seconds, ROW_NUMBER() OVER (ORDER BY answer_seconds) AS rn,
    COUNT(*) OVER () AS n
  FROM conv WHERE answer_seconds IS NOT NULL
)
SELECT COUNT(*) AS active, COALESCE(SUM(escalated), 0) AS escalated,
  COALESCE(SUM(CASE WHEN escalated = 0 THEN 1 ELSE 0 END), 0) AS deflected,
  COALESCE(SUM(CASE WHEN resolved_by = 'operator' THEN 1 ELSE 0 END), 0) AS by_operator,
  COALESCE(SUM(CASE WHEN resolved_by = 'bot' THEN 1 ELSE 0 END), 0) AS by_bot,
  (SELECT AVG(answer_seconds) FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2))
    AS median_answer_seconds
FROM conv"""


def bind(
    sql: str,
    d: Dialect,
    *,
    shop: str,
    start: datetime,
    end: datetime,
    window: timedelta,
    flow: str | None,
) -> tuple[TextClause, dict[str, Any]]:
    """The statement with typed parameters (UTC datetimes stored alike on both databases)."""
    names = [n for n in ("from", "to") if f":{n}" in sql]
    statement = text(sql).bindparams(*(bindparam(n, type_=UtcDateTime()) for n in names))
    params: dict[str, Any] = {
        "shop": shop,
        "from": start,
        "to": end,
        "window_s": window.total_seconds(),
    }
    if flow is not None:
        params["flow"] = flow
    used = {key: value for key, value in params.items() if f":{key}" in sql}
    return statement, used
