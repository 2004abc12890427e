"""The report queries: one pass over the sent touches, aggregated by the database.

Attribution rule: what happens after a touch (a reply, an opt-out, a handoff, a payment) is
credited to the last touch of the same chain sent before it, and only within the
attribution window. So the recovered counts of a chain's touches add up to at most one,
and a chain counts as recovered when its checkout is paid within the window after a touch.
The SQL runs unchanged on SQLite and PostgreSQL except for three small fragments.
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
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"

    def day(self, at: str) -> str:
        if self.postgres:
            return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({at}, 1, 10)"


def _after(d: Dialect, at: str) -> str:
    """`at` falls in the touch's window: after it, within the window, before the next touch."""
    return (
        f"({at} >= s.sent_at AND {d.within(at, 's.sent_at')}"
        f" AND (s.next_at IS NULL OR {at} < s.next_at))"
    )


def _sent_cte(flow: bool, paid_only: bool) -> str:
    # neighbours are looked up one window beyond the period so edges are credited right
    paid = (
        " JOIN chains pc ON pc.id = t.chain_id"
        " JOIN checkouts pk ON pk.id = pc.checkout_id AND pk.status = 'paid'"
        if paid_only
        else ""
    )
    return f"""
sent AS (
  SELECT t.id, t.chain_id, t.contact_id, t.flow, t.step, t.variant, t.sent_at,
         LEAD(t.sent_at) OVER w AS next_at,
         LAG(t.sent_at) OVER w AS prev_at,
         ROW_NUMBER() OVER w AS pos
  FROM touches t
  JOIN contacts ct ON ct.id = t.contact_id{paid}
  WHERE t.sent_at IS NOT NULL AND t.sent_at >= :lead_from AND t.sent_at < :lead_to
    AND ct.shop = :shop{" AND t.flow = :flow" if flow else ""}
  WINDOW w AS (PARTITION BY t.chain_id ORDER BY t.sent_at, t.id)
)"""


def _flags_ctes(d: Dialect, flow: bool) -> str:
    """CTEs `sent`, `touch`, `replies`, `delivery` and `flags`: one row per touch in period."""
    handoff = f"cv.escalated_at IS NOT NULL AND {_after(d, 'cv.escalated_at')}"
    answer = d.seconds("cv.first_operator_reply_at", "cv.escalated_at")
    return f"""
WITH {_sent_cte(flow, paid_only=False).strip()},
touch AS (
  SELECT s.id, s.flow, s.step, COALESCE(s.variant, ch.variant, '') AS variant, s.sent_at,
    s.pos, co.currency, co.total,
    CASE WHEN s.prev_at IS NULL OR s.prev_at < :from THEN 1 ELSE 0 END AS first_in_period,
    CASE WHEN co.status = 'paid' AND co.paid_at IS NOT NULL AND {_after(d, "co.paid_at")}
      THEN 1 ELSE 0 END AS recovered,
    CASE WHEN ch.stop_reason = 'opt_out' AND ch.stopped_at IS NOT NULL
      AND {_after(d, "ch.stopped_at")} THEN 1 ELSE 0 END AS chain_opt_out,
    CASE WHEN {handoff} THEN 1 ELSE 0 END AS handoff,
    CASE WHEN {handoff} AND cv.first_operator_reply_at IS NOT NULL
      THEN {answer} END AS answer_seconds
  FROM sent s
  JOIN chains ch ON ch.id = s.chain_id
  LEFT JOIN checkouts co ON co.id = ch.checkout_id
  LEFT JOIN conversations cv ON cv.contact_id = s.contact_id
  WHERE s.sent_at >= :from AND s.sent_at < :to
),
replies AS (
  SELECT s.id, MAX(CASE WHEN m.intent = 'opt_out' THEN 1 ELSE 0 END) AS opt_out
  FROM sent s
  JOIN messages m ON m.contact_id = s.contact_id AND m.direction = 'in'
    AND {_after(d, "m.created_at")}
  WHERE s.sent_at >= :from AND s.sent_at < :to
  GROUP BY s.id
),
delivery AS (
  SELECT m.touch_id,
    MAX(CASE WHEN m.status IN ('delivered', 'read') THEN 1 ELSE 0 END) AS delivered,
    MAX(CASE WHEN m.status = 'read' THEN 1 ELSE 0 END) AS was_read
  FROM touch x JOIN messages m ON m.touch_id = x.id AND m.direction = 'out'
  GROUP BY m.touch_id
),
flags AS (
  SELECT x.*, COALESCE(dl.delivered, 0) AS delivered, COALESCE(dl.was_read, 0) AS was_read,
    CASE WHEN r.id IS NULL THEN 0 ELSE 1 END AS replied,
    CASE WHEN x.chain_opt_out = 1 OR COALESCE(r.opt_out, 0) = 1 THEN 1 ELSE 0 END AS opted_out
  FROM touch x
  LEFT JOIN delivery dl ON dl.touch_id = x.id
  LEFT JOIN replies r ON r.id = x.id
)"""


_COUNTS = """
  COUNT(*) AS sent, SUM(delivered) AS delivered, SUM(was_read) AS was_read,
  SUM(replied) AS replied, SUM(recovered) AS recovered, SUM(opted_out) AS opted_out,
  SUM(handoff) AS handoffs,
  SUM(CASE WHEN replied = 1 AND handoff = 0 THEN 1 ELSE 0 END) AS deflected"""


def groups_sql(d: Dialect, flow: bool) -> str:
    """One row per (flow, step, variant) with counts and the median time to an operator."""
    return f"""{_flags_ctes(d, flow)},
agg AS (
  SELECT flow, step, variant, {_COUNTS},
    SUM(first_in_period) AS chains, MIN(pos) AS pos
  FROM flags GROUP BY flow, step, variant
),
ranked AS (
  SELECT flow, step, variant, answer_seconds,
    ROW_NUMBER() OVER (PARTITION BY flow, step, variant ORDER BY answer_seconds) AS rn,
    COUNT(*) OVER (PARTITION BY flow, step, variant) AS n
  FROM flags WHERE answer_seconds IS NOT NULL
),
med AS (
  SELECT flow, step, variant, AVG(answer_seconds) AS median_answer_seconds
  FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY flow, step, variant
)
SELECT agg.*, med.median_answer_seconds
FROM agg LEFT JOIN med
  ON med.flow = agg.flow AND med.step = agg.step AND med.variant = agg.variant
ORDER BY agg.flow, agg.pos, agg.step, agg.variant"""


def revenue_sql(d: Dialect, flow: bool) -> str:
    """Recovered revenue per (flow, step, variant, currency); only paid chains are read."""
    return f"""
WITH {_sent_cte(flow, paid_only=True).strip()}
SELECT s.flow, s.step, COALESCE(s.variant, ch.variant, '') AS variant, co.currency,
  COUNT(*) AS orders, SUM(ROUND(co.total * 100)) AS cents
FROM sent s
JOIN chains ch ON ch.id = s.chain_id
JOIN checkouts co ON co.id = ch.checkout_id
WHERE s.sent_at >= :from AND s.sent_at < :to AND co.paid_at IS NOT NULL
  AND {_after(d, "co.paid_at")}
GROUP BY s.flow, s.step, COALESCE(s.variant, ch.variant, ''), co.currency
ORDER BY 1, 2, 3, 4"""


def daily_sql(d: Dialect, flow: bool) -> str:
    """One row per UTC day the touches were sent."""
    return f"""{_flags_ctes(d, flow)}
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
