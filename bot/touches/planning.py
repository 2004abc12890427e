"""Planning one touch: the variant, the step's delay, the touch row and its audit entry.

Pure functions over a loaded `Context` (the planner and firing both use them), plus
`plan_with`, which adds the touch as an ORM object for the per-event paths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.phones import country_of
from bot.settings import Settings
from bot.store.models import Chain, Touch
from bot.touches.policy import Context, choose_channel, earliest, window
from flows.loader import FlowSet
from flows.model import ABANDON_AFTER, Flow, Step


@dataclass(frozen=True)
class Planning:
    """What one batch is planned with: the settings and the flow set in force for it."""

    settings: Settings
    flows: FlowSet

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self.settings.chain_cooldown_hours)


def pick_variant(flow: Flow, chain_id: int) -> str:
    """Deterministic per chain: a hash of flow and chain id over the weights (R-FL5)."""
    digest = int(hashlib.sha256(f"{flow.flow}:{chain_id}".encode()).hexdigest()[:8], 16)
    total = sum(flow.variants.values())
    point = digest % total
    for name, weight in flow.variants.items():
        if point < weight:
            return name
        point -= weight
    return next(iter(flow.variants))


def in_holdout(flow: Flow, chain_id: int, settings: Settings) -> bool:
    """Deterministic per chain, apart from the variant's hash: the flow's holdout share gets
    no messages at all (R-MX3)."""
    share = flow.holdout_percent if settings.holdout_enabled else 0
    if share <= 0:
        return False
    digest = int(hashlib.sha256(f"holdout:{flow.flow}:{chain_id}".encode()).hexdigest()[:8], 16)
    return digest % 100 < share


HOLDOUT_RULE = "R-MX3 holdout: no messages"


def step_delay(step: Step, settings: Settings, variant: str | None = None) -> timedelta:
    """The step's delay for the chain's variant (an A/B timing override, R-FL5)."""
    if variant is not None and variant in step.delays:
        return step.delays[variant]
    if step.delay == ABANDON_AFTER:
        return timedelta(minutes=settings.abandon_after_minutes)
    assert isinstance(step.delay, timedelta)
    return step.delay


def plan_rows(
    ctx: Context,
    step: Step,
    due: datetime,
    now: datetime,
    flows: FlowSet,
    settings: Settings,
    name: str | None = None,
    why: str = "planned",
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The new touch's row (None when not allowed) and its audit entry's fields."""
    chain = ctx.chain
    if chain.holdout:
        return None, audit_row(chain, now, "held_out", HOLDOUT_RULE, {"step": name or step.step})
    channel = choose_channel(ctx.flow, ctx)
    if channel is None:
        skipped = {"step": step.step}
        return None, audit_row(chain, now, "skipped", "R-SR1 no consent", skipped)
    at, rule = earliest(due, ctx, window(flows, settings, ctx.contact))
    if at is None:
        return None, audit_row(chain, now, "skipped", rule or "R-SR2", {"step": step.step})
    touch = {
        "chain_id": chain.id,
        "contact_id": chain.contact_id,
        "flow": chain.flow,
        "step": name or step.step,
        "variant": chain.variant,
        "channel": channel,
        "country": country_of(ctx.contact.phone),
        "due_at": at,
        "status": "planned",
        "rule": rule,
        "created_at": now,
    }
    detail = {"step": touch["step"], "due_at": at.isoformat(), "channel": channel}
    return touch, audit_row(chain, now, why, rule or f"R-SR1 consent {channel}", detail)


def audit_row(
    chain: Chain, now: datetime, action: str, rule: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """The fields of an audit entry about a chain (for `audit(**row)` or a bulk INSERT)."""
    return {
        "at": now,
        "action": action,
        "contact_id": chain.contact_id,
        "chain_id": chain.id,
        "rule": rule,
        "detail": detail,
    }


def plan_with(
    session: AsyncSession,
    ctx: Context,
    step: Step,
    due: datetime,
    now: datetime,
    flows: FlowSet,
    settings: Settings,
    name: str | None = None,
    why: str = "planned",
) -> Touch | None:
    """Check consent and hours for a new touch; add it (status planned) when allowed."""
    row, entry = plan_rows(ctx, step, due, now, flows, settings, name, why)
    touch = Touch(**row) if row is not None else None
    if touch is not None:
        session.add(touch)
    audit(session, **entry)
    return touch
