"""The report queries, aggregated by the database (SQLite and PostgreSQL alike).

Attribution rule: what follows a touch (a payment, a reply, an opt-out, a handoff) is
credited to the last touch sent before it — of the same chain for payments and stops, of
the same contact for messages and handoffs — and only within the attribution window. So a
chain's touches share at most one recovery, and a chain counts as recovered when its
checkout is paid within the window after one of its touches. Each event finds its touch
through an index, so the cost grows with the events, not with a sort of every touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, TextClause, bindparam, text

from bot.store.models import UtcDateTime


@dataclass(frozen=True)
class Dialect:
    """The fragments that differ: window arithmetic, seconds between, day of a timestamp."""

    postgres: bool

    def within(self, at: str, start: str) -> str:
        """`at` is no later than the attribution window after `start`."""
        if self.postgres:
            return f"{at} <= {start} + :window"
        # SQLite stores text; julianday makes it arithmetic (window bound in days)
        return f"julianday({at}) <= julianday({start}) + :window_days"

    def seconds(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"

    def day(self, at: str) -> str:
        if self.postgres:
            return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({at}, 1, 10)"


@dataclass(frozen=True)
class Scope:
    """Which filters the statement carries: a flow, and the shop join (skipped with one shop)."""

    flow: bool
    shop: bool = True

    def touches(self, alias: str = "t") -> str:
        """FROM/WHERE fragment selecting the touches sent in the period (alias `t`)."""
        join = f" JOIN contacts ct ON ct.id = {alias}.contact_id" if self.shop else ""
        where = f"{alias}.sent_at >= :from AND {alias}.sent_at < :to"
        if self.shop:
            where += " AND ct.shop = :shop"
        if self.flow:
            where += f" AND {alias}.flow = :flow"
        return f"touches {alias}{join} WHERE {where}"


def _since(d: Dialect, at: str) -> str:
    """The touch `t` was sent at or before `at`, and at most the window before it."""
    if d.postgres:
        return f"t.sent_at <= {at} AND t.sent_at >= {at} - :window"
    return f"t.sent_at <= {at} AND julianday(t.sent_at) >= julianday({at}) - :window_days"


def _credit_ctes(d: Dialect) -> str:
    """CTEs `hit`, `ev`, `credit`: per touch, what followed it (rows only for touches with events).

    Every event is matched to the touches before it within the window (of its chain for
    payments and stops, of its contact for messages and handoffs); the latest one wins.
    """
    answer = d.seconds("cv.first_operator_reply_at", "cv.escalated_at")
    return f"""
by_chain AS (
  SELECT 'p' AS kind, ch.id AS ref, co.paid_at AS at, 0 AS opt
  FROM chains ch JOIN checkouts co ON co.id = ch.checkout_id
  WHERE co.status = 'paid' AND co.paid_at >= :lead_from AND co.paid_at < :lead_to
  UNION ALL
  SELECT 's', ch.id, ch.stopped_at, 1 FROM chains ch
  WHERE ch.stop_reason = 'opt_out' AND ch.stopped_at >= :lead_from AND ch.stopped_at < :lead_to
),
by_contact AS (
  SELECT 'm' AS kind, m.id AS ref, m.contact_id, m.created_at AS at,
    CAST(NULL AS DOUBLE PRECISION) AS answer_seconds,
    CASE WHEN m.intent = 'opt_out' THEN 1 ELSE 0 END AS opt
  FROM messages m
  WHERE m.direction = 'in' AND m.created_at >= :lead_from AND m.created_at < :lead_to
  UNION ALL
  SELECT 'e', cv.id, cv.contact_id, cv.escalated_at,
    CASE WHEN cv.first_operator_reply_at IS NOT NULL THEN {answer} END, 0
  FROM conversations cv
  WHERE cv.escalated_at >= :lead_from AND cv.escalated_at < :lead_to
),
hit AS (
  SELECT e.kind, e.ref, t.id AS touch_id, t.sent_at AS touch_at,
    CAST(NULL AS DOUBLE PRECISION) AS answer_seconds, e.opt
  FROM by_chain e JOIN touches t ON t.chain_id = e.ref AND {_since(d, "e.at")}
  UNION ALL
  SELECT e.kind, e.ref, t.id, t.sent_at, e.answer_seconds, e.opt
  FROM by_contact e JOIN touches t ON t.contact_id = e.contact_id AND {_since(d, "e.at")}
),
ev AS (
  SELECT kind, touch_id, answer_seconds, opt,
    ROW_NUMBER() OVER (PARTITION BY kind, ref ORDER BY touch_at DESC, touch_id DESC) AS rn
  FROM hit
),
credit AS (
  SELECT touch_id,
    MAX(CASE WHEN kind = 'p' THEN 1 ELSE 0 END) AS recovered,
    MAX(CASE WHEN kind = 'm' THEN 1 ELSE 0 END) AS replied,
    MAX(opt) AS opted_out,
    MAX(CASE WHEN kind = 'e' THEN 1 ELSE 0 END) AS handoff,
    MAX(answer_seconds) AS answer_seconds
  FROM ev WHERE rn = 1 GROUP BY touch_id
)"""


def _flags_ctes(d: Dialect, scope: Scope) -> str:
    """CTEs up to `flags`: one narrow row per touch sent in the period, with its outcomes."""
    return f"""
WITH {_credit_ctes(d).strip()},
flags AS (
  SELECT t.flow, t.step, COALESCE(t.variant, '') AS variant, t.sent_at,
    CASE WHEN m.status IN ('delivered', 'read') THEN 1 ELSE 0 END AS delivered,
    CASE WHEN m.status = 'read' THEN 1 ELSE 0 END AS was_read,
    COALESCE(c.recovered, 0) AS recovered, COALESCE(c.replied, 0) AS replied,
    COALESCE(c.opted_out, 0) AS opted_out, COALESCE(c.handoff, 0) AS handoff
  FROM {scope.touches().replace(" WHERE ", _FLAG_JOINS + " WHERE ", 1)}
)"""


_FLAG_JOINS = """
  LEFT JOIN messages m ON m.id = t.message_id
  LEFT JOIN credit c ON c.touch_id = t.id"""

_COUNTS = """
  COUNT(*) AS sent, SUM(delivered) AS delivered, SUM(was_read) AS was_read,
  SUM(replied) AS replied, SUM(recovered) AS recovered, SUM(opted_out) AS opted_out,
  SUM(handoff) AS handoffs,
  SUM(CASE WHEN replied = 1 AND handoff = 0 THEN 1 ELSE 0 END) AS deflected"""


def groups_sql(d: Dialect, scope: Scope) -> str:
    """One row per (flow, step, variant): counts, chains reached and the median answer time.

    The median runs over the few touches followed by an answered handoff, by a window
    (SQLite has no percentile; PostgreSQL's would forbid hash aggregation).
    """
    return f"""{_flags_ctes(d, scope)},
agg AS (
  SELECT flow, step, variant, {_COUNTS}, MIN(sent_at) AS first_sent
  FROM flags GROUP BY flow, step, variant
),
answered AS (
  SELECT t.flow, t.step, COALESCE(t.variant, '') AS variant, c.answer_seconds
  FROM {scope.touches().replace(" WHERE ", " JOIN credit c ON c.touch_id = t.id WHERE ", 1)}
    AND c.answer_seconds IS NOT NULL
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


def chains_sql(scope: Scope) -> str:
    """Distinct chains reached per flow (hash-distinct, no sort of the touches)."""
    return f"""
SELECT flow, COUNT(*) AS chains
FROM (SELECT DISTINCT t.flow, t.chain_id FROM {scope.touches()}) reached
GROUP BY flow"""


def revenue_sql(d: Dialect, scope: Scope) -> str:
    """Recovered revenue per (flow, step, variant, currency); only paid chains are read."""
    return f"""
WITH hit AS (
  SELECT ch.id AS ref, t.id AS touch_id, co.currency, co.total,
    ROW_NUMBER() OVER (PARTITION BY ch.id ORDER BY t.sent_at DESC, t.id DESC) AS rn
  FROM chains ch JOIN checkouts co ON co.id = ch.checkout_id
  JOIN touches t ON t.chain_id = ch.id AND {_since(d, "co.paid_at")}
  WHERE co.status = 'paid' AND co.paid_at >= :lead_from AND co.paid_at < :lead_to
)
SELECT t.flow, t.step, COALESCE(t.variant, '') AS variant, h.currency,
  COUNT(*) AS orders, SUM(ROUND(h.total * 100)) AS cents
FROM {scope.touches().replace(" WHERE ", " JOIN hit h ON h.touch_id = t.id WHERE ", 1)}
  AND h.rn = 1
GROUP BY t.flow, t.step, COALESCE(t.variant, ''), h.currency
ORDER BY 1, 2, 3, 4"""


def daily_sql(d: Dialect, scope: Scope) -> str:
    """One row per UTC day the touches were sent."""
    return f"""{_flags_ctes(d, scope)}
SELECT {d.day("sent_at")} AS day, {_COUNTS}
FROM flags GROUP BY {d.day("sent_at")} ORDER BY 1"""


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
    names = [n for n in ("from", "to", "lead_from", "lead_to") if f":{n}" in sql]
    statement = text(sql).bindparams(*(bindparam(n, type_=UtcDateTime()) for n in names))
    params: dict[str, Any] = {
        "shop": shop,
        "from": start,
        "to": end,
        "lead_from": start - window,
        "lead_to": end + window,
    }
    if d.postgres and ":window" in sql:
        statement = statement.bindparams(bindparam("window", type_=Interval()))
        params["window"] = window
    else:
        params["window_days"] = window.total_seconds() / 86400.0
    if flow is not None:
        params["flow"] = flow
    used = {key: value for key, value in params.items() if f":{key}" in sql}
    return statement, used
