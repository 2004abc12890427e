"""CSAT (R-MX4): answers to the 1–5 question, per operator and for the bot, and per day."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.reports import sql
from bot.reports.schemas import Rate, SatisfactionGroup
from bot.reports.stats import wilson

SATISFIED = (4, 5)  # CSAT is the share of 4s and 5s


def _answers(d: sql.Dialect, scope: sql.Scope, joins: str = "") -> str:
    join = (" JOIN contacts ct ON ct.id = r.contact_id" if scope.shop else "") + joins
    where = "r.score IS NOT NULL AND r.answered_at >= :from AND r.answered_at < :to"
    if scope.shop:
        where += " AND ct.shop = :shop"
    return f"ratings r{join} WHERE {where}"


def ratings_sql(d: sql.Dialect, scope: sql.Scope) -> str:
    """Answers in the period per who helped and score."""
    return f"""
SELECT r.by, r.operator_id, o.username, r.score, COUNT(*) AS answers
FROM {_answers(d, scope, " LEFT JOIN operators o ON o.id = r.operator_id")}
GROUP BY r.by, r.operator_id, o.username, r.score"""


def daily_ratings_sql(d: sql.Dialect, scope: sql.Scope) -> str:
    return f"""
SELECT {d.day("r.answered_at")} AS day, COUNT(*) AS rated,
  SUM(CASE WHEN r.score >= {min(SATISFIED)} THEN 1 ELSE 0 END) AS satisfied
FROM {_answers(d, scope)}
GROUP BY {d.day("r.answered_at")}"""


def _group(who: str, operator: str | None, scores: dict[int, int]) -> SatisfactionGroup:
    rated = sum(scores.values())
    satisfied = sum(n for s, n in scores.items() if s in SATISFIED)
    interval = wilson(satisfied, rated)
    return SatisfactionGroup(
        who=who,
        operator=operator,
        rated=rated,
        csat=Rate(value=interval.value, low=interval.low, high=interval.high, n=rated),
        distribution={str(s): scores.get(s, 0) for s in range(1, 6)},
    )


def satisfaction_groups(rows: list[dict[str, Any]]) -> list[SatisfactionGroup]:
    """Everyone first, then the bot, then each operator by name."""
    every: dict[int, int] = defaultdict(int)
    by_who: dict[tuple[str, str | None], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        score, answers = int(row["score"]), int(row["answers"])
        every[score] += answers
        operator = row["username"] or (str(row["operator_id"]) if row["operator_id"] else None)
        by_who[row["by"], operator if row["by"] == "operator" else None][score] += answers
    groups = [_group("all", None, every)]
    for (who, operator), scores in sorted(by_who.items(), key=lambda k: (k[0][0], k[0][1] or "")):
        groups.append(_group(who, operator, scores))
    return groups
