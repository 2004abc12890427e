"""Firing due touches: claim, decide, mark `sending` and commit, send, record (R-SR9).

The touches table is the truth. A batch is claimed (PostgreSQL: FOR UPDATE SKIP LOCKED;
SQLite: the single writer and a status guard), so several instances never take the same
row, and decided in the same transaction. It is then sent chunk by chunk: a chunk's
touches and message rows are committed `sending` before its provider calls, so a crash can
leave at most the chunks in flight `unknown` (one per lane: IN_FLIGHT_MAX touches) but never
sends anything twice. The outcomes of one chunk and the `sending` mark of the next share one
commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.channels.base import ChannelName, OutboundMessage, SendResult
from bot.channels.pacing import LONGEST_WAIT
from bot.clock import Clock
from bot.metrics import Metrics
from bot.outbound import Outbound, SendItem
from bot.settings import Settings
from bot.store.bulk import (
    among,
    insert_rows,
    plan_as_key_lookups,
    update_rows,
    update_rows_guarded,
)
from bot.store.db import SessionFactory
from bot.store.models import AuditEntry, Chain, Contact, Message, Touch
from bot.store.write_lock import write_lock
from bot.touches.context import change_snapshot, load_contexts, rows_of
from bot.touches.control import PENDING
from bot.touches.fallback import UNDELIVERABLE, is_no_whatsapp, replacement
from bot.touches.planner import plan_rows, step_delay
from bot.touches.policy import Context, Decision, decide
from bot.touches.render import render_touch
from bot.touches.retry_hook import call_retry_hook, retry_url
from flows.designer import DesignerFiles
from flows.loader import FlowSet

log = logging.getLogger(__name__)

BATCH = 500  # touches one `claim` takes
SEND_CONCURRENCY = 64  # touches per chunk: `sending` together, so at most this many unknown
LANE_BATCH = 256  # touches a lane claims and decides in one transaction
LANES = 2  # with a backlog, lanes claim, decide and send side by side (PostgreSQL)
IN_FLIGHT_MAX = SEND_CONCURRENCY * LANES  # `sending` at once: what a crash can leave unknown
PASS_SECONDS = 10.0  # a tick going on with what fell due meanwhile lets the other ticks run

_TOUCHES = cast(Table, Touch.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_CHAINS = cast(Table, Chain.__table__)
_MESSAGES = cast(Table, Message.__table__)
_CLAIMED = (
    _TOUCHES.c.id,
    _TOUCHES.c.chain_id,
    _TOUCHES.c.contact_id,
    _TOUCHES.c.flow,
    _TOUCHES.c.step,
    _TOUCHES.c.variant,
    _TOUCHES.c.due_at,
)


# The columns each bulk UPDATE of touches sets (rows carry "id" and these).
_MARK_SENDING = ("channel", "message_id")  # status, sent_at, claim: the same for a chunk
_SETTLE = ("status", "message_id", "claimed_by", "rule", "channel")
_FINISH = ("status", "claimed_by", "rule")
_DEFER = ("status", "due_at", "claimed_by", "rule")
# a send the provider refused for longer than a send may wait: planned again, as never sent
_RESCHEDULE = ("due_at", "rule")
_RESCHEDULED = {
    "status": "planned",
    "claimed_by": None,
    "claimed_at": None,
    "sent_at": None,
    "message_id": None,
}
RETRY_AFTER = "R-CH2 provider's Retry-After: rescheduled"
_STOP_CHAIN = ("status", "stop_reason", "stopped_at")
# Planned and due by `:due_by`: what a tick looks for and what a claim takes.
_DUE = (
    _TOUCHES.c.status == "planned",
    _TOUCHES.c.due_at <= bindparam("due_by", type_=_TOUCHES.c.due_at.type),
)
_ANY_DUE = select(_TOUCHES.c.id).where(*_DUE).limit(1)
_AUDIT_KEYS = ("action", "contact_id", "chain_id", "touch_id", "rule", "detail")  # `at`: now


def instance_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Due:
    """A claimed touch, as the plain values firing needs."""

    id: int
    chain_id: int
    contact_id: int
    flow: str
    step: str
    variant: str | None
    channel: str | None = None


@dataclass
class _Job:
    """A touch decided `send`, from its chunk's `sending` commit to its outcome."""

    touch: _Due
    ctx: Context
    decision: Decision
    message: OutboundMessage
    hooked: bool
    message_id: int | None = None  # its `messages` row, once written
    rule: str = ""
    result: SendResult | None = None  # None: no answer, the outcome is unknown


class _Writes:
    """Rows of one transaction, written in bulk (plain rows: ORM objects cost more CPU than
    the send itself); everything it records happens at `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.settled: list[dict[str, Any]] = []
        self.finished: list[dict[str, Any]] = []
        self.deferred: list[dict[str, Any]] = []
        self.rescheduled: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []
        self.planned: list[dict[str, Any]] = []
        self.chains: dict[int, dict[str, Any]] = {}
        self.no_whatsapp: set[int] = set()  # contacts WhatsApp said have no account
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def entry(self, **fields: Any) -> None:
        """An audit entry, made at `now` like every write of this transaction."""
        self.audit.append({k: fields.get(k) for k in _AUDIT_KEYS})

    def touch_entry(self, touch: _Due, action: str, rule: str, detail: dict[str, Any]) -> None:
        """The audit entry of what became of a touch, and its count for the metrics."""
        self.entry(
            action=action,
            contact_id=touch.contact_id,
            chain_id=touch.chain_id,
            touch_id=touch.id,
            rule=rule[:64],
            detail=detail,
        )
        self.counts[touch.flow, touch.step, action] += 1

    def stop(self, chain_id: int, reason: str, status: str = "stopped") -> None:
        row = {"id": chain_id, "status": status, "stop_reason": reason, "stopped_at": self.now}
        self.chains[chain_id] = row

    async def flush(self, session: AsyncSession, metrics: Metrics) -> None:
        for columns, rows in (
            (_SETTLE, self.settled),
            (_FINISH, self.finished),
            (_DEFER, self.deferred),
        ):
            await update_rows(session, _TOUCHES, columns, rows)
        await update_rows(session, _TOUCHES, _RESCHEDULE, self.rescheduled, same=_RESCHEDULED)
        await insert_rows(session, _TOUCHES, self.planned)
        await insert_rows(session, _AUDIT, self.audit, same={"at": self.now})
        await update_rows(session, _CHAINS, _STOP_CHAIN, list(self.chains.values()))
        if self.no_whatsapp:
            await session.execute(
                update(Contact)
                .where(Contact.id.in_(self.no_whatsapp))
                .values(whatsapp_missing_at=self.now)
            )
        for (flow, step, outcome), n in self.counts.items():
            metrics.touches_total.labels(flow=flow, step=step, outcome=outcome).inc(n)


class Firing:
    """The due-touches tick of one service instance."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        settings: Settings,
        flows: DesignerFiles,
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
        bind = sessions.kw.get("bind")
        self.engine: AsyncEngine | None = bind if isinstance(bind, AsyncEngine) else None
        # one per lane, held from a chunk's `sending` mark to its outcomes
        self._in_flight = asyncio.Semaphore(LANES)
        self._claim_ids = self._claim_statement(BATCH, _TOUCHES.c.id)
        self._claim_lane = self._claim_statement(LANE_BATCH, *_CLAIMED)

    def _write(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite: queue behind this process's other writers (see bot/channels/write_lock)."""
        return write_lock(self.engine) if self.engine is not None else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def _lookups(self) -> AsyncIterator[AsyncSession]:
        """A writing transaction of key lookups and bulk writes by key, planned as such."""
        async with self._write(), self.sessions.begin() as session:
            await plan_as_key_lookups(session)
            yield session

    async def tick(self, now: datetime) -> int:
        """Fire everything due by `now`, then, while that found work and the clock moved on,
        what fell due meanwhile (under load the next pass would start only an interval
        later); return how many touches were handled."""
        handled = 0
        started = time.monotonic()
        while True:
            fired = await self._fire(now)
            handled += fired
            later = self.clock.now()
            if not fired or later <= now or time.monotonic() - started > PASS_SECONDS:
                return handled
            now = later

    async def _fire(self, now: datetime) -> int:
        """Everything due by `now`, in lanes; how many touches were handled."""
        if not await self._anything_due(now):
            return 0
        helpers: list[asyncio.Task[int]] = []
        try:
            handled = await self._lane(now, helpers)
        except BaseException:
            await asyncio.gather(*helpers, return_exceptions=True)  # no lane left behind
            raise
        return handled + sum(await asyncio.gather(*helpers))

    async def _anything_due(self, now: datetime) -> bool:
        """A plain read first: most ticks find nothing due, and the claim is a write (on
        SQLite it would hold the one write lock that webhook acknowledgements wait for)."""
        async with self.sessions() as session:
            found = await session.scalar(_ANY_DUE, {"due_by": now})
        return found is not None

    def _claim_statement(self, limit: int, *columns: Any) -> Any:
        """UPDATE … SET status = 'claimed' RETURNING `columns` of up to `limit` touches due
        by `:due_by` (built once per instance: building it costs more than running it)."""
        due = select(_TOUCHES.c.id).where(*_DUE).order_by(_TOUCHES.c.due_at, _TOUCHES.c.id)
        due = due.limit(limit)
        claim = update(_TOUCHES).values(
            status="claimed",
            claimed_by=bindparam("claimer", type_=_TOUCHES.c.claimed_by.type),
            claimed_at=bindparam("taken", type_=_TOUCHES.c.claimed_at.type),
        )
        if self.is_postgres:
            # A locking CTE is evaluated once; `IN (subquery LIMIT n)` may be re-run by the
            # planner and then claim more than n rows.
            locked = due.with_for_update(skip_locked=True).cte("due")
            claim = claim.where(_TOUCHES.c.id == locked.c.id)
        else:
            claim = claim.where(
                _TOUCHES.c.id.in_(due.scalar_subquery()), _TOUCHES.c.status == "planned"
            )
        return claim.returning(*columns)

    def _claim_params(self, now: datetime) -> dict[str, Any]:
        return {"due_by": now, "claimer": self.instance, "taken": datetime.now(UTC)}

    async def claim(self, now: datetime) -> list[int]:
        """Claim up to BATCH due touches in a transaction of their own; their ids."""
        async with self._write(), self.sessions.begin() as session:
            result = await session.execute(self._claim_ids, self._claim_params(now))
            return [int(i) for i in result.scalars().all()]

    async def _lane(self, now: datetime, helpers: list[asyncio.Task[int]]) -> int:
        """Claim and decide a batch, send it chunk by chunk; again until nothing is due. How
        many were claimed. Lanes overlap one batch's claiming and deciding with another's
        writes and sends, and each lane has at most one chunk `sending` (what a crash can
        leave unknown): while one lane waits for the database the other has work."""
        flows = self.flows.current
        handled = 0
        while True:
            # Committed before waiting for the turn to send: a lane waiting holds no row
            # lock (a SKIP LOCKED scan may keep locks on rows it did not return).
            async with self._lookups() as session:
                claimed = (await session.execute(self._claim_lane, self._claim_params(now))).all()
                if not claimed:
                    return handled
                more = len(claimed) == LANE_BATCH  # a short batch took all that was due
                if more and self.is_postgres and len(helpers) < LANES - 1:
                    # A backlog: another lane claims and decides while this one sends.
                    helpers.append(asyncio.create_task(self._lane(now, helpers)))
                rows = sorted(claimed, key=lambda r: (r.due_at, r.id))  # RETURNING: no order
                dues = [
                    _Due(r.id, r.chain_id, r.contact_id, r.flow, r.step, r.variant) for r in rows
                ]
                jobs, writes = await self._decide(session, dues, flows, now)
                await writes.flush(session, self.metrics)
            handled += len(dues)
            if jobs:
                await self._send_all(jobs, flows, now)
            if not more:
                return handled

    async def _send_all(self, jobs: list[_Job], flows: FlowSet, now: datetime) -> None:
        """Chunk by chunk, each committed `sending` before its provider calls."""
        chunks = [jobs[i : i + SEND_CONCURRENCY] for i in range(0, len(jobs), SEND_CONCURRENCY)]
        async with self._in_flight:
            try:
                async with self._lookups() as session:
                    await self._mark_sending(session, chunks[0], now)
                for n, chunk in enumerate(chunks):
                    # Committed `sending`: now, and only now, the provider calls (R-SR9).
                    await self._send_chunk(chunk)
                    following = chunks[n + 1] if n + 1 < len(chunks) else []
                    # One commit: this chunk's outcomes and the next chunk's mark.
                    async with self._lookups() as session:
                        await self._record(session, chunk, flows, now)
                        if following:
                            await self._mark_sending(session, following, now)
            except BaseException:
                # Touches not yet `sending` go back (a `sending` one is never re-sent).
                await self._release([j.touch.id for j in jobs])
                raise

    async def _release(self, ids: list[int]) -> None:
        """Claimed touches back to `planned`, for the next tick (or another instance)."""
        with contextlib.suppress(Exception):
            async with self._write(), self.sessions.begin() as session:
                await session.execute(
                    update(_TOUCHES)
                    .where(
                        _TOUCHES.c.id.in_(ids),
                        _TOUCHES.c.status == "claimed",
                        _TOUCHES.c.claimed_by == self.instance,
                    )
                    .values(status="planned", claimed_by=None, claimed_at=None)
                )

    async def _decide(
        self, session: AsyncSession, dues: list[_Due], flows: FlowSet, now: datetime
    ) -> tuple[list[_Job], _Writes]:
        """Policy and text for each claimed touch: the jobs to send, and the writes of the
        others (deferred, skipped, cancelled)."""
        chain_ids = {t.chain_id for t in dues}
        # Plain rows, not session objects: firing writes what it changes explicitly.
        chains = await rows_of(session, Chain, among(session, Chain.id, chain_ids))
        contexts = await load_contexts(session, chains, flows, now, read_only=True)
        writes = _Writes(now)
        jobs: list[_Job] = []
        for touch in dues:
            ctx = contexts.get(touch.chain_id)
            step = ctx.flow.step_named(touch.step) if ctx else None
            if ctx is None or step is None:
                self._finish(writes, touch, "skipped", "flow or step no longer exists")
                continue
            decision = decide(ctx, step, now, flows, self.settings)
            if decision.action == "send":
                message = render_touch(
                    ctx, step, touch.step, decision, flows, self.settings, now=now
                )
                if message is None:
                    decision = Decision(
                        "skip", "R-SR6 no WhatsApp template", stop_chain="no_template"
                    )
                else:
                    touch.channel = decision.channel
                    ctx.chain_sent.append((now, decision.channel or ""))
                    hooked = step.retry_hook is not None
                    jobs.append(_Job(touch, ctx, decision, message, hooked, rule=decision.rule))
                    continue
            self._apply(writes, touch, ctx, decision)
        return jobs, writes

    def _finish(self, writes: _Writes, touch: _Due, status: str, rule: str) -> None:
        row = {"id": touch.id, "status": status, "claimed_by": None, "rule": rule[:64]}
        writes.finished.append(row)
        writes.touch_entry(touch, status, rule, {"step": touch.step})

    def _apply(self, writes: _Writes, touch: _Due, ctx: Context, decision: Decision) -> None:
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
        self._finish(writes, touch, status, decision.rule)
        chain = ctx.chain
        if decision.stop_chain and chain.status in ("active", "paused"):
            change_snapshot(chain, status="stopped")  # later touches of this batch see it
            writes.stop(chain.id, decision.stop_chain)

    async def _mark_sending(self, session: AsyncSession, chunk: list[_Job], now: datetime) -> None:
        """Message rows for the chunk's touches whose text is final, then the touches
        `sending` with their message ids (so settling them does not change what the report
        reads). Only touches still claimed by this instance: one whose claim a peer took over
        (it believed this instance gone) leaves the chunk, with its message row, unsent."""
        ready = [j for j in chunk if not j.hooked]
        ids = await self.outbound.insert_sending(session, [_item(j) for j in ready])
        for job, message_id in zip(ready, ids, strict=True):
            job.message_id = message_id
        marks = [
            {"id": j.touch.id, "channel": j.touch.channel, "message_id": j.message_id}
            for j in chunk
        ]
        same = {
            "status": "sending",
            "sent_at": now,
            "rule": None,
            "claimed_by": self.instance,
            "claimed_at": datetime.now(UTC),  # wall clock: the sweeper's send deadline
        }
        guard = {"status": "claimed", "claimed_by": self.instance}
        marked = await update_rows_guarded(session, _TOUCHES, _MARK_SENDING, marks, same, guard)
        if len(marked) == len(chunk):
            return
        lost = [j for j in chunk if j.touch.id not in marked]
        log.warning("%d claimed touches were taken over by another instance: not sent", len(lost))
        orphans = [j.message_id for j in lost if j.message_id is not None]
        if orphans:
            await session.execute(delete(_MESSAGES).where(among(session, _MESSAGES.c.id, orphans)))
        chunk[:] = [j for j in chunk if j.touch.id in marked]

    async def _prepare(self, job: _Job) -> str:
        """Call the retry hook; the rule the touch will carry."""
        touch, ctx, decision = job.touch, job.ctx, job.decision
        step = ctx.flow.step_named(touch.step)
        assert step is not None and step.retry_hook is not None
        url = retry_url(self.flows.current.shop, self.settings)
        if url is None:
            return "R-FL2 no retry hook: reminder"
        if await call_retry_hook(step.retry_hook, ctx, url):
            fixed = render_touch(
                ctx,
                step,
                touch.step,
                decision,
                self.flows.current,
                self.settings,
                template_key=step.retry_hook.on_success,
            )
            job.message = fixed or job.message
            return "R-FL2 retry hook succeeded"
        return "R-FL2 retry hook failed: reminder"

    async def _send_chunk(self, chunk: list[_Job]) -> None:
        """Retry hooks (after the `sending` commit), the provider calls, then SMS fallbacks;
        each job gets its result. Anything unexpected leaves a touch `unknown`: flagged,
        never re-sent (R-SR9)."""
        hooked = [j for j in chunk if j.hooked]
        if hooked:
            rules = await asyncio.gather(
                *(self._prepare(j) for j in hooked), return_exceptions=True
            )
            written: list[_Job] = []
            for job, rule in zip(hooked, rules, strict=True):
                if isinstance(rule, BaseException):
                    log.error(
                        "touch %s: retry hook failed unexpectedly", job.touch.id, exc_info=rule
                    )
                    job.rule = "R-SR9 outcome unknown"
                else:
                    job.rule = rule
                    written.append(job)
            await self._insert_rows(written)  # the text depends on the hook's answer
        ready = [j for j in chunk if j.message_id is not None]
        await self._call(ready, [_item(j) for j in ready])
        for job in ready:
            failed = job.result
            if failed is not None and is_no_whatsapp(
                job.decision.channel, failed.outcome, failed.error_code
            ):
                job.rule = UNDELIVERABLE  # planned again on another channel in `_record`

    async def _insert_rows(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        try:
            async with self._write(), self.sessions.begin() as session:
                ids = await self.outbound.insert_sending(session, [_item(j) for j in jobs])
        except Exception:
            log.exception("writing %d messages failed", len(jobs))
            for job in jobs:
                job.rule = "R-SR9 outcome unknown"
            return
        for job, message_id in zip(jobs, ids, strict=True):
            job.message_id = message_id

    async def _call(self, jobs: list[_Job], items: list[SendItem]) -> None:
        """The provider calls of committed rows; a job without a result stays unknown."""
        try:
            results = await self.outbound.call_many(items, SEND_CONCURRENCY)
        except Exception:
            log.exception("sending %d touches failed unexpectedly", len(items))
            for job in jobs:
                job.result, job.rule = None, "R-SR9 outcome unknown"
            return
        for job, result in zip(jobs, results, strict=True):
            job.result = result

    async def _record_messages(self, session: AsyncSession, jobs: list[_Job]) -> None:
        """The provider's answers on the jobs' message rows (rows without one stay
        `sending` until start-up flags them `unknown`)."""
        items: list[SendItem] = []
        ids: list[int] = []
        results: list[SendResult] = []
        for job in jobs:
            if job.message_id is not None and job.result is not None:
                items.append(_item(job))
                ids.append(job.message_id)
                results.append(job.result)
        await self.outbound.record_outcomes(session, items, ids, results)

    def _fall_back(self, writes: _Writes, job: _Job, flows: FlowSet, now: datetime) -> None:
        """No WhatsApp at this number: remember it, plan the step again (R-SR7)."""
        ctx = job.ctx
        with contextlib.suppress(ValueError):
            ctx.chain_sent.remove((now, "whatsapp"))  # it did not reach the shopper
        row, entry = replacement(ctx, job.touch.step, now, flows, self.settings)
        if row is not None:
            writes.planned.append(row)
        writes.entry(**entry)
        writes.no_whatsapp.add(ctx.contact.id)

    async def _record(
        self, session: AsyncSession, chunk: list[_Job], flows: FlowSet, now: datetime
    ) -> None:
        """Outcomes in bulk, then the next step of every chain that goes on."""
        await self._record_messages(session, chunk)
        chain_ids = {j.touch.chain_id for j in chunk}
        # Status filtered here: with it in SQL the planner may scan every planned touch.
        touches_of_chains = await session.execute(
            select(_TOUCHES.c.chain_id, _TOUCHES.c.status).where(_TOUCHES.c.chain_id.in_(chain_ids))
        )
        pending = {chain_id for chain_id, status in touches_of_chains if status in PENDING}
        writes = _Writes(now)
        for job in chunk:
            touch, chain = job.touch, job.ctx.chain
            result = job.result
            if _wait_longer(result):
                assert result is not None and result.retry_after is not None
                until = now + timedelta(seconds=result.retry_after)
                writes.rescheduled.append({"id": touch.id, "due_at": until, "rule": RETRY_AFTER})
                later: dict[str, Any] = {"step": touch.step, "until": until.isoformat()}
                writes.touch_entry(
                    touch, "deferred", RETRY_AFTER, later | {"channel": touch.channel}
                )
                continue
            if result is None:
                outcome, rule = "unknown", "R-SR9 outcome unknown"
            else:
                outcome = {"sent": "sent", "unknown": "unknown"}.get(result.outcome, "failed")
                rule = job.rule
            fixed = rule == "R-FL2 retry hook succeeded" and outcome == "sent"
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
            if rule == UNDELIVERABLE and outcome == "failed" and chain.status == "active":
                self._fall_back(writes, job, flows, now)
                pending.add(chain.id)
                continue
            if fixed:
                writes.stop(chain.id, "fixed_by_retry")
                continue
            flow = job.ctx.flow
            if outcome == "unknown" or chain.status != "active" or flow.purpose == "service":
                continue  # order-status touches are planned together, up front
            nxt = flow.next_step(touch.step)
            if nxt is None:
                writes.stop(chain.id, "last touch", "completed")
            elif chain.id not in pending:
                due = max(chain.anchor_at + step_delay(nxt, self.settings, chain.variant), now)
                row, entry = plan_rows(job.ctx, nxt, due, now, flows, self.settings)
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


def _item(job: _Job) -> SendItem:
    channel = cast(ChannelName, job.touch.channel)
    return SendItem(job.ctx.contact, channel, job.message, touch_id=job.touch.id)
