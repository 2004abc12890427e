"""Deciding a claimed batch again with the policy: the touches to send, with their text, and
the writes of the others (deferred, skipped, cancelled)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store.bulk import among
from bot.store.models import Chain
from bot.touches import reasons
from bot.touches.context import change_in_memory, load_contexts, rows_of
from bot.touches.firing.jobs import Due, Job
from bot.touches.firing.writes import Writes
from bot.touches.policy import Context, Decision, decide
from bot.touches.render import render_touch
from flows.loader import FlowSet


async def decide_batch(
    session: AsyncSession, dues: list[Due], flows: FlowSet, settings: Settings, now: datetime
) -> tuple[list[Job], Writes]:
    """Policy and text for each claimed touch: the jobs to send, and the writes of the
    others (deferred, skipped, cancelled)."""
    chain_ids = {t.chain_id for t in dues}
    # Plain rows, not session objects: firing writes what it changes explicitly.
    chains = await rows_of(session, Chain, among(session, Chain.id, chain_ids))
    contexts = await load_contexts(session, chains, flows, now, read_only=True)
    writes = Writes(now)
    jobs: list[Job] = []
    for touch in dues:
        ctx = contexts.get(touch.chain_id)
        step = ctx.flow.step_named(touch.step) if ctx else None
        if ctx is None or step is None:
            writes.finish(touch, "skipped", reasons.STEP_GONE)
            continue
        decision = decide(ctx, step, now, flows, settings)
        if decision.action == "send":
            message = render_touch(
                ctx,
                step,
                touch.step,
                flows,
                settings.default_language,
                template=decision.template,
                now=now,
            )
            if message is None:
                decision = Decision(
                    "skip", reasons.NO_WHATSAPP_TEMPLATE, stop_chain=reasons.NO_TEMPLATE
                )
            else:
                touch.channel = decision.channel
                ctx.chain_sent.append((now, decision.channel or ""))
                hooked = step.retry_hook is not None
                jobs.append(Job(touch, ctx, decision, message, hooked, rule=decision.rule))
                continue
        _apply(writes, touch, ctx, decision)
    return jobs, writes


def _apply(writes: Writes, touch: Due, ctx: Context, decision: Decision) -> None:
    if decision.action == "defer":
        assert decision.at is not None
        writes.deferred.append(
            {
                "id": touch.id,
                "status": "planned",
                "due_at": decision.at,
                "claimed_by": None,
                "rule": decision.rule[:64],
            }
        )
        detail = {"step": touch.step, "until": decision.at.isoformat()}
        writes.touch_entry(touch, "deferred", decision.rule, detail)
        return
    status = "cancelled" if decision.action == "cancel" else "skipped"
    writes.finish(touch, status, decision.rule)
    chain = ctx.chain
    if decision.stop_chain and chain.status in ("active", "paused"):
        change_in_memory(chain, status="stopped")  # later touches of this batch see it
        writes.stop(chain.id, decision.stop_chain)
