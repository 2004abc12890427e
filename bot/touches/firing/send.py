"""Sending a decided chunk: its message rows and touches committed `sending` first (R-SR9),
then retry hooks, the provider calls and the answers that call for an SMS fallback."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbound import Outbound, SendItem
from bot.settings import Settings
from bot.store.bulk import among, update_rows_guarded
from bot.store.models import Message
from bot.touches import reasons
from bot.touches.fallback import is_no_whatsapp
from bot.touches.firing.jobs import Job
from bot.touches.firing.writes import TOUCHES, Transactions
from bot.touches.render import render_touch
from bot.touches.retry_hook import call_retry_hook, retry_url
from flows.designer import DesignerFiles

log = logging.getLogger(__name__)

SEND_CONCURRENCY = 64  # touches per chunk: `sending` together, so at most this many unknown

_MESSAGES = cast(Table, Message.__table__)
_MARK_SENDING = ("channel", "message_id")  # status, sent_at, claim: the same for a chunk


@dataclass(eq=False)
class Sender:
    """The sends of one instance's firing (`instance`: the claimer it marks rows with)."""

    transactions: Transactions
    instance: str
    outbound: Outbound
    flows: DesignerFiles
    settings: Settings

    async def mark_sending(self, session: AsyncSession, chunk: list[Job], now: datetime) -> None:
        """Message rows for the chunk's touches whose text is final, then the touches
        `sending` with their message ids (so settling them does not change what the report
        reads). Only touches still claimed by this instance: one whose claim a peer took over
        (it believed this instance gone) leaves the chunk, with its message row, unsent."""
        ready = [j for j in chunk if not j.hooked]
        ids = await self.outbound.insert_sending(session, [j.item() for j in ready])
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
        marked = await update_rows_guarded(session, TOUCHES, _MARK_SENDING, marks, same, guard)
        if len(marked) == len(chunk):
            return
        lost = [j for j in chunk if j.touch.id not in marked]
        log.warning("%d claimed touches were taken over by another instance: not sent", len(lost))
        orphans = [j.message_id for j in lost if j.message_id is not None]
        if orphans:
            await session.execute(delete(_MESSAGES).where(among(session, _MESSAGES.c.id, orphans)))
        chunk[:] = [j for j in chunk if j.touch.id in marked]

    async def _prepare(self, job: Job, now: datetime) -> str:
        """Call the retry hook; the rule the touch will carry."""
        touch, ctx, decision = job.touch, job.ctx, job.decision
        step = ctx.flow.step_named(touch.step)
        assert step is not None and step.retry_hook is not None
        url = retry_url(self.flows.current.shop, self.settings)
        if url is None:
            return reasons.NO_RETRY_HOOK
        if await call_retry_hook(step.retry_hook, ctx, url):
            fixed = render_touch(
                ctx,
                step,
                touch.step,
                self.flows.current,
                self.settings.default_language,
                template=decision.template,
                now=now,
                template_key=step.retry_hook.on_success,
            )
            job.message = fixed or job.message
            return reasons.RETRY_HOOK_SUCCEEDED
        return reasons.RETRY_HOOK_FAILED

    async def send_chunk(self, chunk: list[Job], now: datetime) -> None:
        """Retry hooks (after the `sending` commit), the provider calls, then SMS fallbacks;
        each job gets its result. Anything unexpected leaves a touch `unknown`: flagged,
        never re-sent (R-SR9)."""
        hooked = [j for j in chunk if j.hooked]
        if hooked:
            rules = await asyncio.gather(
                *(self._prepare(j, now) for j in hooked), return_exceptions=True
            )
            written: list[Job] = []
            for job, rule in zip(hooked, rules, strict=True):
                if isinstance(rule, BaseException):
                    log.error(
                        "touch %s: retry hook failed unexpectedly", job.touch.id, exc_info=rule
                    )
                    job.rule = reasons.OUTCOME_UNKNOWN
                else:
                    job.rule = rule
                    written.append(job)
            await self._insert_rows(written)  # the text depends on the hook's answer
        ready = [j for j in chunk if j.message_id is not None]
        await self._call(ready, [j.item() for j in ready])
        for job in ready:
            failed = job.result
            if failed is not None and is_no_whatsapp(
                job.decision.channel, failed.outcome, failed.error_code
            ):
                job.rule = reasons.UNDELIVERABLE  # planned again on another channel by record

    async def _insert_rows(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        try:
            async with self.transactions.write(), self.transactions.sessions.begin() as session:
                ids = await self.outbound.insert_sending(session, [j.item() for j in jobs])
        except Exception:
            log.exception("writing %d messages failed", len(jobs))
            for job in jobs:
                job.rule = reasons.OUTCOME_UNKNOWN
            return
        for job, message_id in zip(jobs, ids, strict=True):
            job.message_id = message_id

    async def _call(self, jobs: list[Job], items: list[SendItem]) -> None:
        """The provider calls of committed rows; a job without a result stays unknown."""
        try:
            results = await self.outbound.call_many(items, SEND_CONCURRENCY)
        except Exception:
            log.exception("sending %d touches failed unexpectedly", len(items))
            for job in jobs:
                job.result, job.rule = None, reasons.OUTCOME_UNKNOWN
            return
        for job, result in zip(jobs, results, strict=True):
            job.result = result
