"""The flow file format (flows/recovery/*.yml), validated by pydantic.

A flow is what a designer edits: when it starts (trigger and stage conditions), which
touches it sends and when (steps with delay windows), on which channels, with which
templates, quick replies and A/B variants. What stops a chain is not configurable: every
flow stops on the events of R-SR5 (paid, reply, opt-out, negative answer, hand-off).
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

ABANDON_AFTER = "abandon_after"  # NUDGE_ABANDON_AFTER_MINUTES (R-EV3)
StageName = Literal["cart", "delivery", "payment"]
STAGES: tuple[StageName, ...] = ("cart", "delivery", "payment")
REASONS = ("card_data", "three_ds", "insufficient_funds", "risk_block", "platform_error", "unknown")
# What a quick reply (digit or button payload) asks the dialogue to do.
ACTIONS = (
    "resume",
    "pay",
    "payment_help",
    "other_method",
    "verify",
    "delivery_help",
    "manager",
    "review",
    "close",
    "stop",
)


def parse_duration(value: object) -> timedelta:
    """`90s`, `30m`, `6h`, `1d` → timedelta; anything else is a clear error."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration like 30m, 6h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(Model):
    event: Literal["checkout.updated", "payment.failed", "order.status_changed"]
    stages: tuple[StageName, ...] = STAGES
    reasons: tuple[
        Literal[
            "card_data", "three_ds", "insufficient_funds", "risk_block", "platform_error", "unknown"
        ],
        ...,
    ] = ()


class RetryHook(Model):
    """The shop retries the payment itself (R-FL2 platform_error); success is told."""

    on_success: str
    timeout: Duration = timedelta(seconds=10)


class Step(Model):
    step: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    delay: Duration | Literal["abandon_after"]
    # The range the delay and every variant's delay must stay in (`nudge validate`).
    window: tuple[Duration, Duration] | None = None
    # A/B timing (R-FL5): a variant's own delay for this step, e.g. {late: 45m}.
    delays: dict[str, Duration] = Field(default_factory=dict)
    # One template key, or one per stage / order status, with an optional `default`.
    template: str | dict[str, str]
    variants: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    quick_replies: dict[str, str] = Field(default_factory=dict)
    statuses: tuple[str, ...] = ()
    link: str | None = None
    retry_hook: RetryHook | None = None
    final: bool = False

    @model_validator(mode="after")
    def _checks(self) -> Step:
        delays: dict[str, Any] = {"delay": self.delay}
        delays.update({f"delays.{name}": d for name, d in self.delays.items()})
        _check_window(self.window, delays)
        for key, action in self.quick_replies.items():
            if action not in ACTIONS:
                raise ValueError(
                    f"quick_replies.{key}: unknown action {action!r} (one of {', '.join(ACTIONS)})"
                )
        return self

    def template_keys(self) -> set[str]:
        keys: set[str] = set()
        for choice in (self.template, *self.variants.values()):
            keys.update([choice] if isinstance(choice, str) else choice.values())
        if self.retry_hook is not None:
            keys.add(self.retry_hook.on_success)
        return keys

    def template_for(self, variant: str | None, segment: str | None) -> str | None:
        """The template key for this chain's variant and the stage / status (R-FL4, R-FL5)."""
        choice = self.variants.get(variant or "", self.template)
        if isinstance(choice, str):
            return choice
        if segment is not None and segment in choice:
            return choice[segment]
        return choice.get("default")


def _check_window(window: tuple[timedelta, timedelta] | None, delays: dict[str, Any]) -> None:
    """`window` bounds every delay given (the step's own and each variant's)."""
    if window is None:
        return
    low, high = window
    if low > high:
        raise ValueError("window: the first bound must not be after the second")
    for name, delay in delays.items():
        if isinstance(delay, timedelta) and not low <= delay <= high:
            raise ValueError(f"{name} {delay} is outside its window {low}–{high}")


class Revisit(Model):
    """A revisit cancels the pending touch and re-arms it later (R-SR5), `delay` after the
    visit; `window` is the range the delay must stay in (2–3 h by SPEC)."""

    delay: Duration = timedelta(minutes=150)
    window: tuple[Duration, Duration] = (timedelta(hours=2), timedelta(hours=3))

    @model_validator(mode="after")
    def _checks(self) -> Revisit:
        _check_window(self.window, {"delay": self.delay})
        return self


DEFAULT_HOLDOUT_PERCENT = 10


class Flow(Model):
    flow: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    description: str = ""
    purpose: Literal["recovery", "service"] = "recovery"
    trigger: Trigger
    channels: tuple[Literal["last_written", "whatsapp", "sms", "telegram"], ...] = (
        "whatsapp",
        "telegram",
        "sms",
    )
    revisit: Revisit = Revisit()
    variants: dict[str, int] = Field(default_factory=lambda: {"control": 100})
    # Percent of chains that get no messages, the baseline of the lift (R-MX3).
    holdout: int | None = Field(default=None, ge=0, le=50)
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _checks(self) -> Flow:
        if not self.variants or any(w < 0 for w in self.variants.values()):
            raise ValueError("variants: give at least one variant with a weight ≥ 0")
        if sum(self.variants.values()) <= 0:
            raise ValueError("variants: the weights must not all be 0")
        names = [s.step for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("steps: two steps share a name")
        for step in self.steps:
            unknown = (set(step.variants) | set(step.delays)) - set(self.variants)
            if unknown:
                raise ValueError(
                    f"step {step.step}: variants {sorted(unknown)} are not declared in `variants`"
                )
        if self.purpose == "service" and self.holdout:
            raise ValueError("holdout: service messages are never held out (recovery flows only)")
        if self.trigger.event == "payment.failed" and not self.trigger.reasons:
            raise ValueError("trigger.reasons: a payment.failed flow names the reasons it handles")
        return self

    @property
    def holdout_percent(self) -> int:
        """The share held out: as written, else 10 % of recovery chains and none of service."""
        if self.holdout is not None:
            return self.holdout
        return DEFAULT_HOLDOUT_PERCENT if self.purpose == "recovery" else 0

    @property
    def is_payment(self) -> bool:
        return self.trigger.event == "payment.failed"

    @functools.cached_property
    def step_index(self) -> dict[str, int]:
        """Each step's position by name (firing looks a step up for every touch)."""
        return {s.step: n for n, s in enumerate(self.steps)}

    def step_named(self, name: str) -> Step | None:
        index = self.step_index.get(name.split(":", 1)[0])
        return None if index is None else self.steps[index]

    def next_step(self, name: str) -> Step | None:
        index = self.step_index.get(name.split(":", 1)[0])
        if index is None or index + 1 >= len(self.steps):
            return None
        return self.steps[index + 1]
