"""Response models of the report API; the OpenAPI spec is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class Rate(BaseModel):
    """A proportion with its 95 % Wilson interval; all null when nothing was counted."""

    value: float | None
    low: float | None
    high: float | None
    n: int = Field(description="Sample size (the denominator).")


class Money(BaseModel):
    currency: str
    amount: Decimal
    orders: int


class TouchCounts(BaseModel):
    """Touches sent, and how many of them were followed by each outcome."""

    sent: int
    delivered: int
    read: int
    replied: int
    recovered: int
    opted_out: int


class VariantReport(TouchCounts):
    variant: str = Field(description="Empty string when the touch has no variants.")
    negative: int = Field(description='Touches followed by a decline ("no thanks").')
    complaints: int = Field(description="Touches followed by an opt-out or a decline.")
    handoffs: int
    deflected: int = Field(description="Replies that the bot handled without an operator.")
    recovery_rate: Rate
    delivery_rate: Rate
    read_rate: Rate
    reply_rate: Rate
    opt_out_rate: Rate
    complaint_rate: Rate = Field(description="complaints / sent: stops and declines.")
    handoff_rate: Rate
    deflection_rate: Rate = Field(description="deflected / replied.")
    median_first_answer_seconds: float | None = Field(
        description="Median time from handoff to the operator's first answer."
    )
    recovered_revenue: list[Money]


class Comparison(BaseModel):
    """A variant against the control of the same touch: two-sided two-proportion z-test."""

    variant: str
    control: str
    control_sent: int
    control_recovered: int
    variant_sent: int
    variant_recovered: int
    difference: float | None = Field(description="variant rate − control rate.")
    z: float | None
    p_value: float
    significant: bool = Field(description="p < 0.05.")
    worse: bool = Field(description="Significantly worse than the control: flagged.")


class StepReport(BaseModel):
    step: str
    control: str | None
    variants: list[VariantReport]
    comparisons: list[Comparison]


class IncrementalRevenue(BaseModel):
    """Revenue the messages added over the holdout's rate, with the lift's interval."""

    currency: str
    amount: Decimal = Field(description="lift × messaged chains × average recovered order.")
    low: Decimal
    high: Decimal


class Lift(BaseModel):
    """Messaged chains against the flow's holdout, chains started in the period (R-MX3)."""

    variant: str | None = Field(description="null: every messaged chain of the flow.")
    messaged_chains: int
    messaged_recovered: int
    messaged_rate: Rate
    holdout_chains: int
    holdout_recovered: int
    holdout_rate: Rate
    lift: float | None = Field(description="messaged rate − holdout rate.")
    lift_low: float | None = Field(description="95 % interval (Newcombe's hybrid score).")
    lift_high: float | None
    incremental_revenue: list[IncrementalRevenue]
    verdict: Literal["lift", "harm", "no_clear_difference", "too_small", "no_holdout"]
    summary: str = Field(description="The verdict in plain words.")


class HoldoutReport(BaseModel):
    overall: Lift
    variants: list[Lift]


class AverageOrder(BaseModel):
    currency: str
    average: Decimal
    orders: int


class Cost(BaseModel):
    """The touches' cost by the price table in shop settings (flows/shop.yml `prices`)."""

    currency: str
    total: Decimal
    per_recovered_order: Decimal | None = Field(description="null: nothing recovered.")
    unpriced_messages: int = Field(description="Touches on a channel the table has no price for.")


class FlowReport(BaseModel):
    flow: str
    chains: int = Field(description="Distinct chains that got a touch in the period.")
    sent: int
    recovered: int
    recovery_rate: Rate = Field(description="Recovered chains / chains touched in the period.")
    recovered_revenue: list[Money]
    steps: list[StepReport]
    average_recovered_order: list[AverageOrder] = Field(
        default_factory=list, description="Average value of the orders recovered, per currency."
    )
    messages_per_recovered_order: float | None = None
    cost: Cost | None = None
    holdout: HoldoutReport | None = Field(
        default=None, description="Lift over the chains held out of messages (R-MX3)."
    )


class ConversationReport(BaseModel):
    active: int = Field(description="Conversations with a reply or a handoff in the period.")
    escalated: int
    deflected: int
    resolved_by_operator: int
    resolved_by_bot: int
    handoff_rate: Rate
    deflection_rate: Rate = Field(description="Active conversations never handed over.")
    median_first_answer_seconds: float | None


class SatisfactionGroup(BaseModel):
    """Answers to the 1–5 question (R-MX4) given in the period."""

    who: Literal["all", "bot", "operator"]
    operator: str | None = Field(description="The operator's username (who == operator).")
    rated: int
    csat: Rate = Field(description="Share of 4s and 5s, with its 95 % interval.")
    distribution: dict[str, int] = Field(description='Answers per score, "1"…"5".')


class RecoveryReport(BaseModel):
    shop: str
    period_from: datetime
    period_to: datetime
    attribution_hours: int
    generated_at: datetime
    flows: list[FlowReport]
    conversations: ConversationReport
    satisfaction: list[SatisfactionGroup] = Field(
        default_factory=list, description="CSAT: everyone, the bot, each operator."
    )
    average_order: list[AverageOrder] = Field(
        default_factory=list, description="Every order paid in the period, per currency."
    )
    flagged: list[str] = Field(
        description="`flow/step/variant` of variants significantly worse than their control."
    )


class DayPoint(TouchCounts):
    day: date
    handoffs: int
    reply_rate: float | None
    recovery_rate: float | None
    opt_out_rate: float | None
    handoff_rate: float | None
    rated: int = Field(default=0, description="Answers to the satisfaction question that day.")
    csat: float | None = Field(default=None, description="Their share of 4s and 5s.")


class TimeSeries(BaseModel):
    shop: str
    period_from: datetime
    period_to: datetime
    flow: str | None
    days: list[DayPoint]
