"""Firing due touches: claim, decide, mark `sending` and commit, send, record (R-SR9).

The touches table is the truth. A batch is claimed in a short transaction (PostgreSQL:
FOR UPDATE SKIP LOCKED; SQLite: the single writer and a status guard), so several
instances never take the same row; a touch is committed as `sending` before the provider
is called, so a crash can leave it `unknown` but never sends it twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.channels.base import ChannelName, OutboundMessage, SendResult
from bot.clock import Clock
from bot.metrics import Metrics
from bot.outbound import Outbound
from bot.settings import Settings
from bot.store.db import SessionFactory
from bot.store.models import Chain, Touch
from bot.touches.context import load_contexts
from bot.touches.control import PENDING
from bot.touches.planner import plan_with, step_delay
from bot.touches.policy import Context, Decision, decide
from bot.touches.reload import FlowHolder
from bot.touches.render import render_touch
from bot.touches.retry_hook import call_retry_hook

log = logging.getLogger(__name__)

BATCH = 500
SEND_CONCURRENCY = 64
LEASE = timedelta(seconds=120)  # a claim older than this (wall clock) was abandoned


def instance_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Job:
    touch: Touch
    ctx: Context
    decision: Decision
    message: OutboundMessage | None = None


class Firing:
    """The due-touches tick of one service instance."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        settings: Settings,
        flows: FlowHolder,
        outbound: Outbound,
        metrics: Metrics,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.flows = flows
        self.outbound = outbound
        self.metrics = metrics
        self.instance = instance_id()
        self.is_postgres = settings.is_postgres

    async def tick(self, now: datetime) -> int:
        """Fire everything due by `now`; return how many touches were handled."""
        handled = 0
        while True:
            ids = await self.claim(now)
            if not ids:
                return handled
            await self.process(ids, now)
            handled += len(ids)

    async def claim(self, now: datetime) -> list[int]:
        due = (
            select(Touch.id)
            .where(Touch.status == "planned", Touch.due_at <= now)
            .order_by(Touch.due_at, Touch.id)
            .limit(BATCH)
        )
        if self.is_postgres:
            # A locking CTE is evaluated once; `IN (subquery LIMIT n)` may be re-run by the
            # planner and then claim more than n rows.
            locked = due.with_for_update(skip_locked=True).cte("due")
            statement = (
                update(Touch)
                .where(Touch.id == locked.c.id)
                .values(status="claimed", claimed_by=self.instance, claimed_at=datetime.now(UTC))
                .returning(Touch.id)
                .execution_options(synchronize_session=False)
            )
        else:
            statement = (
                update(Touch)
                .where(Touch.id.in_(due.scalar_subquery()), Touch.status == "planned")
                .values(status="claimed", claimed_by=self.instance, claimed_at=datetime.now(UTC))
                .returning(Touch.id)
                .execution_options(synchronize_session=False)
            )
        async with self.sessions.begin() as session:
            return list((await session.execute(statement)).scalars().all())

    async def process(self, ids: list[int], now: datetime) -> None:
        flows = self.flows.current
        jobs: list[_Job] = []
        async with self.sessions.begin() as session:
            touches = list((await session.scalars(select(Touch).where(Touch.id.in_(ids)))).all())
            chain_ids = {t.chain_id for t in touches}
            chains = (await session.scalars(select(Chain).where(Chain.id.in_(chain_ids)))).all()
            contexts = await load_contexts(session, chains, flows, now)
            for touch in touches:
                ctx = contexts.get(touch.chain_id)
                step = ctx.flow.step_named(touch.step) if ctx else None
                if ctx is None or step is None:
                    self._finish(session, touch, "skipped", "flow or step no longer exists", now)
                    continue
                decision = decide(ctx, step, now, flows, self.settings)
                if decision.action == "send":
                    message = render_touch(ctx, step, touch, decision, flows, self.settings)
                    if message is None:
                        decision = Decision(
                            "skip", "R-SR6 no WhatsApp template", stop_chain="no_template"
                        )
                    else:
                        touch.channel, touch.rule, touch.sent_at = decision.channel, None, now
                        ctx.chain_sent.append((now, decision.channel or ""))
                        jobs.append(_Job(touch, ctx, decision, message))
                        continue
                self._apply(session, touch, ctx, decision, now)
        # Chunk by chunk: `sending` is committed before the provider is called, so a crash
        # leaves at most one chunk `unknown` and never sends anything twice.
        for start in range(0, len(jobs), SEND_CONCURRENCY):
            chunk = jobs[start : start + SEND_CONCURRENCY]
            async with self.sessions.begin() as session:
                await session.execute(
                    update(Touch),
                    [
                        {
                            "id": j.touch.id,
                            "status": "sending",
                            "channel": j.touch.channel,
                            "sent_at": now,
                        }
                        for j in chunk
                    ],
                )
            results = await asyncio.gather(*(self._send(job, now) for job in chunk))
            await self._record_all(list(results), now)

    def _finish(
        self, session: AsyncSession, touch: Touch, status: str, rule: str, now: datetime
    ) -> None:
        touch.status, touch.rule, touch.claimed_by = status, rule[:64], None
        audit(
            session,
            at=now,
            action=status,
            contact_id=touch.contact_id,
            chain_id=touch.chain_id,
            touch_id=touch.id,
            rule=rule[:64],
            detail={"step": touch.step},
        )
        self.metrics.touches_total.labels(flow=touch.flow, step=touch.step, outcome=status).inc()

    def _apply(
        self, session: AsyncSession, touch: Touch, ctx: Context, decision: Decision, now: datetime
    ) -> None:
        if decision.action == "defer":
            assert decision.at is not None
            touch.status, touch.due_at, touch.claimed_by = "planned", decision.at, None
            touch.rule = decision.rule[:64]
            audit(
                session,
                at=now,
                action="deferred",
                contact_id=touch.contact_id,
                chain_id=touch.chain_id,
                touch_id=touch.id,
                rule=decision.rule[:64],
                detail={"step": touch.step, "until": decision.at.isoformat()},
            )
            self.metrics.touches_total.labels(
                flow=touch.flow, step=touch.step, outcome="deferred"
            ).inc()
            return
        status = "cancelled" if decision.action == "cancel" else "skipped"
        self._finish(session, touch, status, decision.rule, now)
        chain = ctx.chain
        if decision.stop_chain and chain.status in ("active", "paused"):
            chain.status, chain.stop_reason, chain.stopped_at = "stopped", decision.stop_chain, now

    async def _send(self, job: _Job, now: datetime) -> tuple[_Job, str, int | None, str]:
        """Call the retry hook or the provider; (job, outcome, message id, rule)."""
        touch, ctx, decision = job.touch, job.ctx, job.decision
        step = ctx.flow.step_named(touch.step)
        assert job.message is not None and decision.channel is not None and step is not None
        message, rule = job.message, decision.rule
        try:
            if step.retry_hook is not None:
                if await call_retry_hook(step.retry_hook, ctx, self.settings):
                    fixed = render_touch(
                        ctx,
                        step,
                        touch,
                        decision,
                        self.flows.current,
                        self.settings,
                        template_key=step.retry_hook.on_success,
                    )
                    message = fixed or message
                    rule = "R-FL2 retry hook succeeded"
                else:
                    rule = "R-FL2 retry hook failed: reminder"
                job.message = message
            channel: ChannelName = decision.channel  # type: ignore[assignment]
            sent = await self.outbound.send(ctx.contact, channel, message, touch_id=touch.id)
            result: SendResult = sent.result
            message_id: int | None = sent.message_id
            if channel == "whatsapp" and (
                result.outcome == "no_account" or result.error_code == "131026"
            ):
                if "sms" in ctx.consents and ctx.contact.phone:
                    sms = OutboundMessage(message.text, (), None, (), message.language)
                    sent = await self.outbound.send(ctx.contact, "sms", sms, touch_id=touch.id)
                    result, message_id = sent.result, sent.message_id
                    touch.channel = "sms"
                    rule = "R-SR7 fallback WhatsApp to SMS"
                else:
                    rule = "R-SR7 not on WhatsApp, no SMS consent"
            outcome = {"sent": "sent", "unknown": "unknown"}.get(result.outcome, "failed")
            if rule == "R-FL2 retry hook succeeded" and outcome == "sent":
                outcome = "fixed"
            return job, outcome, message_id, rule
        except Exception:  # the touch stays `unknown`: flagged, never re-sent (R-SR9)
            log.exception("touch %s: send failed unexpectedly", touch.id)
            return job, "unknown", None, "R-SR9 outcome unknown"

    async def _record_all(
        self, results: list[tuple[_Job, str, int | None, str]], now: datetime
    ) -> None:
        """Outcomes in bulk, then the next step of every chain that goes on."""
        flows = self.flows.current
        chain_ids = {job.touch.chain_id for job, *_ in results}
        async with self.sessions.begin() as session:
            pending = set(
                (
                    await session.scalars(
                        select(Touch.chain_id).where(
                            Touch.chain_id.in_(chain_ids), Touch.status.in_(PENDING)
                        )
                    )
                ).all()
            )
            touch_rows: list[dict[str, Any]] = []
            chain_rows: list[dict[str, Any]] = []
            for job, outcome, message_id, rule in results:
                touch, chain = job.touch, job.ctx.chain
                status = "sent" if outcome == "fixed" else outcome
                touch_rows.append(
                    {
                        "id": touch.id,
                        "status": status,
                        "message_id": message_id,
                        "claimed_by": None,
                        "rule": rule[:64],
                        "channel": touch.channel,
                    }
                )
                audit(
                    session,
                    at=now,
                    action=status,
                    contact_id=touch.contact_id,
                    chain_id=touch.chain_id,
                    touch_id=touch.id,
                    rule=rule[:64],
                    detail={
                        "step": touch.step,
                        "channel": touch.channel,
                        "variant": touch.variant,
                        "template": job.message.template if job.message else None,
                        "message_id": message_id,
                    },
                )
                self.metrics.touches_total.labels(
                    flow=touch.flow, step=touch.step, outcome=status
                ).inc()
                if outcome == "fixed":
                    chain_rows.append(_stopped(chain.id, "fixed_by_retry", now))
                    continue
                flow = job.ctx.flow
                if outcome == "unknown" or chain.status != "active" or flow.purpose == "service":
                    continue  # order-status touches are planned together, up front
                nxt = flow.next_step(touch.step)
                if nxt is None:
                    chain_rows.append(_stopped(chain.id, "last touch", now, "completed"))
                elif chain.id not in pending:
                    due = max(chain.anchor_at + step_delay(nxt, self.settings), now)
                    plan_with(session, job.ctx, nxt, due, now, flows, self.settings)
                    pending.add(chain.id)
            await session.execute(update(Touch), touch_rows)
            if chain_rows:
                await session.execute(update(Chain), chain_rows)


def _stopped(chain_id: int, reason: str, now: datetime, status: str = "stopped") -> dict[str, Any]:
    return {"id": chain_id, "status": status, "stop_reason": reason, "stopped_at": now}
