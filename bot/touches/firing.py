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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.channels.base import ChannelName, OutboundMessage, SendResult
from bot.clock import Clock
from bot.metrics import Metrics
from bot.outbound import Outbound, SendItem, Sent
from bot.settings import Settings
from bot.store.db import SessionFactory
from bot.store.models import AuditEntry, Chain, Touch
from bot.touches.context import load_contexts
from bot.touches.control import PENDING
from bot.touches.planner import plan_rows, step_delay
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
            await self._record_all(await self._send_chunk(chunk), now)

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

    async def _prepare(self, job: _Job) -> str:
        """Call the retry hook if the step has one; the rule the touch will carry."""
        touch, ctx, decision = job.touch, job.ctx, job.decision
        step = ctx.flow.step_named(touch.step)
        assert job.message is not None and step is not None
        if step.retry_hook is None:
            return decision.rule
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
            job.message = fixed or job.message
            return "R-FL2 retry hook succeeded"
        return "R-FL2 retry hook failed: reminder"

    async def _send_chunk(self, chunk: list[_Job]) -> list[tuple[_Job, str, int | None, str]]:
        """Retry hooks, then one batched send, then SMS fallbacks in one more batch;
        (job, outcome, message id, rule) per job. Anything unexpected leaves a touch
        `unknown`: flagged, never re-sent (R-SR9)."""
        unknown = "R-SR9 outcome unknown"
        rules: dict[int, str] = {}
        results: dict[int, tuple[str, SendResult | None, int | None]] = {}  # rule, result, id
        hooked = [j for j in chunk if self._has_hook(j)]
        hook_rules = await asyncio.gather(
            *(self._prepare(j) for j in hooked), return_exceptions=True
        )
        for job, rule in zip(hooked, hook_rules, strict=True):
            if isinstance(rule, BaseException):
                log.error("touch %s: retry hook failed unexpectedly", job.touch.id, exc_info=rule)
                results[id(job)] = (unknown, None, None)
            else:
                rules[id(job)] = rule
        ready = [j for j in chunk if id(j) not in results]
        for job in ready:
            rules.setdefault(id(job), job.decision.rule)
        sent = await self._send_batch([(j, _channel(j), _message(j)) for j in ready])
        fallback: list[tuple[_Job, ChannelName, OutboundMessage]] = []
        for job in ready:
            one = sent.get(id(job))
            if one is None:
                results[id(job)] = (unknown, None, None)
                continue
            results[id(job)] = (rules[id(job)], one.result, one.message_id)
            ctx, failed = job.ctx, one.result
            if job.decision.channel == "whatsapp" and (
                failed.outcome == "no_account" or failed.error_code == "131026"
            ):
                if "sms" in ctx.consents and ctx.contact.phone:
                    message = _message(job)
                    sms = OutboundMessage(message.text, (), None, (), message.language)
                    fallback.append((job, "sms", sms))
                else:
                    results[id(job)] = (
                        "R-SR7 not on WhatsApp, no SMS consent",
                        *results[id(job)][1:],
                    )
        if fallback:
            again = await self._send_batch(fallback)
            for job, _, _ in fallback:
                one = again.get(id(job))
                if one is None:
                    results[id(job)] = (unknown, None, None)
                    continue
                job.touch.channel = "sms"
                results[id(job)] = ("R-SR7 fallback WhatsApp to SMS", one.result, one.message_id)
        out: list[tuple[_Job, str, int | None, str]] = []
        for job in chunk:
            rule, result, message_id = results[id(job)]
            if result is None:
                out.append((job, "unknown", None, rule))
                continue
            outcome = {"sent": "sent", "unknown": "unknown"}.get(result.outcome, "failed")
            if rule == "R-FL2 retry hook succeeded" and outcome == "sent":
                outcome = "fixed"
            out.append((job, outcome, message_id, rule))
        return out

    def _has_hook(self, job: _Job) -> bool:
        step = job.ctx.flow.step_named(job.touch.step)
        return step is not None and step.retry_hook is not None

    async def _send_batch(
        self, sends: Sequence[tuple[_Job, ChannelName, OutboundMessage]]
    ) -> dict[int, Sent]:
        """One `send_many`; an empty answer when it failed (the touches become `unknown`)."""
        items = [
            SendItem(job.ctx.contact, channel, message, touch_id=job.touch.id)
            for job, channel, message in sends
        ]
        try:
            sent = await self.outbound.send_many(items, SEND_CONCURRENCY)
        except Exception:
            log.exception("sending %d touches failed unexpectedly", len(items))
            return {}
        return {id(job): one for (job, _, _), one in zip(sends, sent, strict=True)}

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
            # Plain rows inserted in bulk: ORM objects cost more CPU than the send itself.
            entries: list[dict[str, Any]] = []
            planned: list[dict[str, Any]] = []
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
                entries.append(
                    {
                        "at": now,
                        "action": status,
                        "contact_id": touch.contact_id,
                        "chain_id": touch.chain_id,
                        "touch_id": touch.id,
                        "rule": rule[:64],
                        "detail": {
                            "step": touch.step,
                            "channel": touch.channel,
                            "variant": touch.variant,
                            "template": job.message.template if job.message else None,
                            "message_id": message_id,
                        },
                    }
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
                    row, entry = plan_rows(job.ctx, nxt, due, now, flows, self.settings)
                    if row is not None:
                        planned.append(row)
                    entries.append(entry)
                    pending.add(chain.id)
            await session.execute(update(Touch), touch_rows)
            if planned:
                await session.execute(insert(Touch), planned)
            await session.execute(insert(AuditEntry), entries)
            if chain_rows:
                await session.execute(update(Chain), chain_rows)


def _channel(job: _Job) -> ChannelName:
    assert job.decision.channel is not None
    return job.decision.channel  # type: ignore[return-value]


def _message(job: _Job) -> OutboundMessage:
    assert job.message is not None
    return job.message


def _stopped(chain_id: int, reason: str, now: datetime, status: str = "stopped") -> dict[str, Any]:
    return {"id": chain_id, "status": status, "stop_reason": reason, "stopped_at": now}
