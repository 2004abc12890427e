"""Recording a sent chunk: the providers' answers, each touch's outcome and audit entry, and
the next step of every chain that goes on (or its SMS fallback, R-SR7)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import SendResult
from bot.channels.pacing import LONGEST_WAIT
from bot.metrics import Metrics
from bot.outbound import Outbound, SendItem
from bot.settings import Settings
from bot.touches import reasons
from bot.touches.control import PENDING
from bot.touches.fallback import replacement
from bot.touches.firing.jobs import Job
from bot.touches.firing.writes import TOUCHES, Writes
from bot.touches.planning import Planning, step_delay
from flows.loader import FlowSet


class Recorder:
    """Writes what became of the touches of each chunk, in the chunk's commit."""

    def __init__(self, outbound: Outbound, settings: Settings, metrics: Metrics) -> None:
        self.outbound = outbound
        self.settings = settings
        self.metrics = metrics

    async def _record_messages(self, session: AsyncSession, jobs: list[Job]) -> None:
        """The provider's answers on the jobs' message rows (rows without one stay
        `sending` until start-up flags them `unknown`)."""
        items: list[SendItem] = []
        ids: list[int] = []
        results: list[SendResult] = []
        for job in jobs:
            if job.message_id is not None and job.result is not None:
                items.append(job.item())
                ids.append(job.message_id)
                results.append(job.result)
        await self.outbound.record_outcomes(session, items, ids, results)

    def _fall_back(self, writes: Writes, job: Job, flows: FlowSet, now: datetime) -> None:
        """No WhatsApp at this number: remember it, plan the step again (R-SR7)."""
        ctx = job.ctx
        with contextlib.suppress(ValueError):
            ctx.chain_sent.remove((now, "whatsapp"))  # it did not reach the shopper
        row, entry = replacement(ctx, job.touch.step, now, flows, self.settings)
        if row is not None:
            writes.planned.append(row)
        writes.entry(**entry)
        writes.no_whatsapp.add(ctx.contact.id)

    async def record(
        self, session: AsyncSession, chunk: list[Job], flows: FlowSet, now: datetime
    ) -> None:
        """Outcomes in bulk, then the next step of every chain that goes on."""
        await self._record_messages(session, chunk)
        chain_ids = {j.touch.chain_id for j in chunk}
        # Status filtered here: with it in SQL the planner may scan every planned touch.
        touches_of_chains = await session.execute(
            select(TOUCHES.c.chain_id, TOUCHES.c.status).where(TOUCHES.c.chain_id.in_(chain_ids))
        )
        pending = {chain_id for chain_id, status in touches_of_chains if status in PENDING}
        writes = Writes(now)
        for job in chunk:
            touch, chain = job.touch, job.ctx.chain
            result = job.result
            if _wait_longer(result):
                assert result is not None and result.retry_after is not None
                until = now + timedelta(seconds=result.retry_after)
                rescheduled = {"id": touch.id, "due_at": until, "rule": reasons.RETRY_AFTER}
                writes.rescheduled.append(rescheduled)
                later: dict[str, Any] = {"step": touch.step, "until": until.isoformat()}
                writes.touch_entry(
                    touch, "deferred", reasons.RETRY_AFTER, later | {"channel": touch.channel}
                )
                continue
            if result is None:
                outcome, rule = "unknown", reasons.OUTCOME_UNKNOWN
            else:
                outcome = {"sent": "sent", "unknown": "unknown"}.get(result.outcome, "failed")
                rule = job.rule
            fixed = rule == reasons.RETRY_HOOK_SUCCEEDED and outcome == "sent"
            writes.settled.append(
                {
                    "id": touch.id,
                    "status": outcome,
                    "message_id": job.message_id,
                    "claimed_by": None,
                    "rule": rule[:64],
                    "channel": touch.channel,
                }
            )
            detail = {
                "step": touch.step,
                "channel": touch.channel,
                "variant": touch.variant,
                "template": job.message.template,
                "message_id": job.message_id,
            }
            writes.touch_entry(touch, outcome, rule, detail)
            if rule == reasons.UNDELIVERABLE and outcome == "failed" and chain.status == "active":
                self._fall_back(writes, job, flows, now)
                pending.add(chain.id)
                continue
            if fixed:
                writes.stop(chain.id, reasons.FIXED_BY_RETRY)
                continue
            flow = job.ctx.flow
            if outcome == "unknown" or chain.status != "active" or flow.purpose == "service":
                continue  # order-status touches are planned together, up front
            nxt = flow.next_step(touch.step)
            if nxt is None:
                writes.stop(chain.id, reasons.LAST_TOUCH, "completed")
            elif chain.id not in pending:
                due = max(chain.anchor_at + step_delay(nxt, self.settings, chain.variant), now)
                row, entry = Planning(self.settings, flows).touch_row(job.ctx, nxt, due, now)
                if row is not None:
                    writes.planned.append(row)
                writes.entry(**entry)
                pending.add(chain.id)
        await writes.flush(session, self.metrics)


def _wait_longer(result: SendResult | None) -> bool:
    """The provider refused for longer than a send may wait (with_retries returned early)."""
    return (
        result is not None
        and result.outcome == "failed"
        and result.retryable
        and (result.retry_after or 0.0) > LONGEST_WAIT
    )
