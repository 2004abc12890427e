"""Bulk writes (one statement for many rows) and the lean report triggers of 0004, on SQLite
and PostgreSQL: what is written is exactly what executemany would have written, and only
writes the report reads list a contact for a refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.bulk import (
    among,
    insert_rows,
    plan_as_key_lookups,
    update_rows,
    update_rows_guarded,
)
from bot.store.db import SessionFactory, make_engine, make_session_factory
from bot.store.models import AuditEntry, Chain, Contact, Message, ReportStaleContact, Touch
from tests.factory import contact_row

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUDIT = cast(Table, AuditEntry.__table__)
TOUCHES = cast(Table, Touch.__table__)
MESSAGES = cast(Table, Message.__table__)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return make_session_factory(engine)


async def _contacts(sessions: SessionFactory, n: int) -> list[int]:
    async with sessions.begin() as session:
        people = [
            contact_row(
                f"p{i}", phone=f"+7916000000{i}", first_name=None, created_at=T0, updated_at=T0
            )
            for i in range(n)
        ]
        session.add_all(people)
        await session.flush()
        return [p.id for p in people]


async def _sent_touch(sessions: SessionFactory, contact_id: int) -> tuple[int, int]:
    """A chain with one touch not yet sent and its outbound message `sending`."""
    async with sessions.begin() as session:
        chain = Chain(contact_id=contact_id, flow="cart", anchor_at=T0, started_at=T0)
        session.add(chain)
        await session.flush()
        touch = Touch(
            chain_id=chain.id, contact_id=contact_id, flow="cart", step="s1", due_at=T0,
            created_at=T0,
        )  # fmt: skip
        message = Message(
            contact_id=contact_id, direction="out", channel="whatsapp", status="sending",
            created_at=T0,
        )  # fmt: skip
        session.add_all([touch, message])
        await session.flush()
        return touch.id, message.id


async def _stale(sessions: SessionFactory) -> set[int]:
    async with sessions() as session:
        return set((await session.scalars(select(ReportStaleContact.contact_id))).all())


async def _forget_stale(sessions: SessionFactory) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(ReportStaleContact))


async def test_insert_rows_writes_every_value_as_given(sessions: SessionFactory) -> None:
    people = await _contacts(sessions, 3)
    rows: list[dict[str, Any]] = [
        {
            "at": T0 + timedelta(seconds=i),
            "action": "sent",
            "contact_id": contact_id,
            "chain_id": None if i == 0 else 10 + i,
            "touch_id": 20 + i,
            "rule": "R-SR1 consent whatsapp",
            "detail": None if i == 1 else {"step": f"s{i}", "n": i, "ok": True, "text": "Ж'\""},
        }
        for i, contact_id in enumerate(people)
    ]
    async with sessions.begin() as session:
        await insert_rows(session, AUDIT, rows)
    async with sessions() as session:
        stored = (await session.scalars(select(AuditEntry).order_by(AuditEntry.at))).all()
    assert [
        {k: getattr(e, k) for k in ("at", "action", "contact_id", "chain_id", "touch_id", "detail")}
        for e in stored
    ] == [{k: r[k] for k in ("at", "action", "contact_id", "chain_id", "touch_id", "detail")}
          for r in rows]  # fmt: skip


async def test_insert_rows_refuses_rows_of_different_shapes(sessions: SessionFactory) -> None:
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="audit_log"):
            await insert_rows(session, AUDIT, [{"action": "a", "at": T0}, {"action": "b"}])


async def test_update_rows_sets_each_row_its_own_values(sessions: SessionFactory) -> None:
    people = await _contacts(sessions, 3)
    touches = [(await _sent_touch(sessions, c))[0] for c in people]
    later = T0 + timedelta(minutes=5)
    async with sessions.begin() as session:
        await update_rows(
            session,
            TOUCHES,
            ("status", "sent_at", "rule", "claimed_by"),
            [
                {"id": touches[0], "status": "sent", "sent_at": later, "rule": None,
                 "claimed_by": None},
                {"id": touches[2], "status": "failed", "sent_at": None, "rule": "R-SR9 x",
                 "claimed_by": "host:1:abc"},
            ],
        )  # fmt: skip
        await update_rows(session, TOUCHES, ("status",), [])  # nothing to do, no statement
    async with sessions() as session:
        result = await session.execute(
            select(Touch.id, Touch.status, Touch.sent_at, Touch.rule, Touch.claimed_by)
        )
        got = {row[0]: tuple(row[1:]) for row in result}
    assert got == {
        touches[0]: ("sent", later, None, None),
        touches[1]: ("planned", None, None, None),  # not named: untouched
        touches[2]: ("failed", None, "R-SR9 x", "host:1:abc"),
    }


async def test_update_rows_refuses_a_naive_time(sessions: SessionFactory) -> None:
    (contact_id,) = await _contacts(sessions, 1)
    touch_id, _ = await _sent_touch(sessions, contact_id)
    async with sessions.begin() as session:
        with pytest.raises(Exception, match="naive datetime"):
            row = {"id": touch_id, "sent_at": datetime(2026, 3, 2, 10, 0)}
            await update_rows(session, TOUCHES, ("sent_at",), [row])


async def test_among_matches_the_listed_values_only(sessions: SessionFactory) -> None:
    people = await _contacts(sessions, 4)
    async with sessions() as session:
        for wanted in ([], [people[1]], [people[0], people[3], 10**9]):
            found = await session.scalars(
                select(Contact.id).where(among(session, Contact.id, wanted))
            )
            assert sorted(found.all()) == sorted(set(wanted) & set(people))


async def test_a_message_lists_its_contact_only_when_the_report_reads_the_change(
    sessions: SessionFactory,
) -> None:
    people = await _contacts(sessions, 2)
    sent = [await _sent_touch(sessions, c) for c in people]
    await _forget_stale(sessions)
    outcome = ("status", "provider_message_id")
    async with sessions.begin() as session:  # sending → sent: the report reads neither
        rows = [{"id": m, "status": "sent", "provider_message_id": f"w{m}"} for _, m in sent]
        await update_rows(session, MESSAGES, outcome, rows)
    assert await _stale(sessions) == set()
    async with sessions.begin() as session:  # sent → delivered for the first contact only
        row = {"id": sent[0][1], "status": "delivered", "provider_message_id": "w"}
        await update_rows(session, MESSAGES, outcome, [row])
    assert await _stale(sessions) == {people[0]}
    await _forget_stale(sessions)
    async with sessions.begin() as session:  # delivered → failed: it stops counting
        row = {"id": sent[0][1], "status": "failed", "provider_message_id": "w"}
        await update_rows(session, MESSAGES, outcome, [row])
    assert await _stale(sessions) == {people[0]}


async def test_a_touch_lists_its_contact_once_it_has_been_sent(sessions: SessionFactory) -> None:
    people = await _contacts(sessions, 2)
    sent = [await _sent_touch(sessions, c) for c in people]
    await _forget_stale(sessions)
    async with sessions.begin() as session:  # claimed: not sent, the report never reads it
        rows = [{"id": t, "status": "claimed", "claimed_by": "x"} for t, _ in sent]
        await update_rows(session, TOUCHES, ("status", "claimed_by"), rows)
    assert await _stale(sessions) == set()
    async with sessions.begin() as session:
        rows = [{"id": t, "status": "sending", "sent_at": T0, "message_id": m} for t, m in sent]
        await update_rows(session, TOUCHES, ("status", "sent_at", "message_id"), rows)
    assert await _stale(sessions) == set(people)
    await _forget_stale(sessions)
    async with sessions.begin() as session:  # settling changes nothing the report reads
        rows = [{"id": t, "status": "sent", "rule": "ok"} for t, _ in sent]
        await update_rows(session, TOUCHES, ("status", "rule"), rows)
    assert await _stale(sessions) == set()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Touch)) == 2


async def test_values_the_same_for_every_row_are_written_to_each(sessions: SessionFactory) -> None:
    people = await _contacts(sessions, 2)
    touches = [(await _sent_touch(sessions, c))[0] for c in people]
    later = T0 + timedelta(minutes=7)
    async with sessions.begin() as session:
        channels = ("sms", "whatsapp")
        rows = [{"id": t, "channel": ch} for t, ch in zip(touches, channels, strict=True)]
        same = {"status": "sending", "sent_at": later, "rule": None, "claimed_by": "me"}
        await update_rows(session, TOUCHES, ("channel",), rows, same=same)
        entries = [{"action": "sent", "contact_id": c, "detail": {"n": c}} for c in people]
        await insert_rows(session, AUDIT, entries, same={"at": later, "rule": "R-SR1"})
    async with sessions() as session:
        result = await session.execute(
            select(Touch.id, Touch.channel, Touch.status, Touch.sent_at, Touch.claimed_by)
        )
        got = {row[0]: tuple(row[1:]) for row in result}
        columns = (AuditEntry.contact_id, AuditEntry.at, AuditEntry.rule, AuditEntry.detail)
        audit = (await session.execute(select(*columns))).all()
    assert got == {
        touches[0]: ("sms", "sending", later, "me"),
        touches[1]: ("whatsapp", "sending", later, "me"),
    }
    assert sorted(tuple(row) for row in audit) == [(c, later, "R-SR1", {"n": c}) for c in people]


# SQLite plans by its indexes, not by statistics: PostgreSQL only.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_key_lookups_use_an_index_even_without_statistics(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    """Firing's lookup of 256 chains' touches in a table never analyzed: PostgreSQL's default
    estimates make it scan every row, unless the transaction is planned as key lookups."""
    (contact_id,) = await _contacts(sessions, 1)
    chain = {"contact_id": contact_id, "flow": "cart", "status": "active", "started_at": T0}
    chains = [chain | {"anchor_at": T0}]
    async with sessions.begin() as session:
        await insert_rows(session, cast(Table, Chain.__table__), chains * 300)
        chain_ids = list((await session.scalars(select(Chain.id))).all())
        touch = {"contact_id": contact_id, "flow": "cart", "step": "s1", "status": "sent"}
        rows = [touch | {"chain_id": c, "due_at": T0, "created_at": T0} for c in chain_ids] * 70
        await insert_rows(session, TOUCHES, rows)  # 21,000 touches, no ANALYZE
    lookup = select(Touch.chain_id, Touch.status).where(Touch.chain_id.in_(chain_ids[:256]))
    async with sessions.begin() as session:
        await plan_as_key_lookups(session)
        compiled = lookup.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await session.execute(text(f"EXPLAIN {compiled}"))).scalars())
        assert "Index" in plan and "Seq Scan on touches" not in plan, plan
    async with sessions() as session:  # SET LOCAL: gone with its transaction
        assert await session.scalar(text("SHOW enable_seqscan")) == "on"


async def test_guarded_update_changes_only_rows_that_still_match(sessions: SessionFactory) -> None:
    """A compare-and-set in bulk: rows whose guard columns changed meanwhile are left alone,
    and the keys it returns are exactly the rows it changed."""
    contacts = await _contacts(sessions, 3)
    ids = [(await _sent_touch(sessions, c))[0] for c in contacts]
    async with sessions.begin() as session:
        await session.execute(
            TOUCHES.update().values(status="claimed", claimed_by="me").where(TOUCHES.c.id != ids[1])
        )
        await session.execute(
            TOUCHES.update()
            .values(status="claimed", claimed_by="peer")
            .where(TOUCHES.c.id == ids[1])
        )
        rows = [{"id": i, "channel": f"c{n}"} for n, i in enumerate(ids)]
        same = {"status": "sending", "sent_at": T0}
        guard = {"status": "claimed", "claimed_by": "me"}
        changed = await update_rows_guarded(session, TOUCHES, ("channel",), rows, same, guard)
    assert changed == {ids[0], ids[2]}
    async with sessions() as session:
        found = (
            await session.execute(
                select(TOUCHES.c.id, TOUCHES.c.status, TOUCHES.c.channel, TOUCHES.c.claimed_by)
            )
        ).all()
    assert sorted(found) == sorted(
        [
            (ids[0], "sending", "c0", "me"),
            (ids[1], "claimed", None, "peer"),
            (ids[2], "sending", "c2", "me"),
        ]
    )
