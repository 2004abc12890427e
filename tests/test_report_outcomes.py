"""Per-touch outcomes follow every write (triggers + refresh), on SQLite and PostgreSQL.

The report reads outcome columns kept on the touches; these tests change the source rows
the way the service does (events API, status callbacks, plain updates) and check the
report after each change, and compare random data with an attribution done in Python.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import ENGINE, SESSIONS
from bot.channels.base import StatusUpdate
from bot.reports.outcomes import refresh_outcomes
from bot.store.models import (
    Chain,
    Checkout,
    Conversation,
    Message,
    ReportStaleContact,
    Touch,
)
from bot.webhooks.statuses import apply_statuses
from tests.conftest import AUTH
from tests.factory import checkout_row, checkout_updated, contact_row, order_paid, touch_row
from tests.reports_fixtures import chain_of_c1

Client = TestClient[Any, Any]
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PERIOD = {"from": "2026-02-01", "to": "2026-03-31"}
WINDOW = timedelta(hours=72)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def report(client: Client, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/recovery", params=params or PERIOD, headers=AUTH)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def variants(body: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (f["flow"], s["step"], v["variant"]): v
        for f in body["flows"]
        for s in f["steps"]
        for v in s["variants"]
    }


async def _stale(client: Client) -> int:
    async with client.app[SESSIONS]() as session:
        return int(await session.scalar(select(func.count()).select_from(ReportStaleContact)) or 0)


# --- changes arriving through the service's own paths --------------------------------


async def _contact_chain(client: Client) -> tuple[int, int, int]:
    """Contact c1 and checkout k1 through the events API; a chain as the planner makes it."""
    response = await client.post(
        "/api/v1/events", json=checkout_updated(stage="payment", when=at(-2)), headers=AUTH
    )
    assert response.status == 202, await response.text()
    async with client.app[SESSIONS].begin() as session:
        chain = await chain_of_c1(session, "A", at(-1))
        assert chain.checkout_id is not None
        return int(chain.contact_id), int(chain.checkout_id), int(chain.id)


async def _send_touch(
    client: Client, contact_id: int, chain_id: int, step: str, hours: float, provider_id: str
) -> int:
    """What firing does: the touch is sent and points at its outbound message."""
    async with client.app[SESSIONS].begin() as session:
        touch = Touch(
            chain_id=chain_id,
            contact_id=contact_id,
            flow="payment",
            step=step,
            variant="A",
            channel="whatsapp",
            due_at=at(hours),
            status="planned",
            created_at=at(-1),
        )
        session.add(touch)
        await session.flush()
        message = Message(
            contact_id=contact_id,
            direction="out",
            channel="whatsapp",
            text="hello",
            touch_id=touch.id,
            author="bot",
            provider_message_id=provider_id,
            status="sent",
            created_at=at(hours),
        )
        session.add(message)
        await session.flush()
        touch.status, touch.sent_at, touch.message_id = "sent", at(hours), message.id
        return int(touch.id)


def _status(provider_id: str, status: str, hours: float) -> StatusUpdate:
    return StatusUpdate("whatsapp", provider_id, status, at(hours))  # type: ignore[arg-type]


async def test_outcomes_follow_payments_statuses_replies_and_handoffs(client: Client) -> None:
    contact_id, checkout_id, chain_id = await _contact_chain(client)
    await _send_touch(client, contact_id, chain_id, "first", 0, "wamid.1")
    first = variants(await report(client))[("payment", "first", "A")]
    assert (first["sent"], first["delivered"], first["read"]) == (1, 0, 0)
    engine: AsyncEngine = client.app[ENGINE]
    # out of order and repeated: read, then a late delivered, then read again
    await apply_statuses(engine, [_status("wamid.1", "read", 0.2)])
    await apply_statuses(engine, [_status("wamid.1", "delivered", 0.1)])
    await apply_statuses(engine, [_status("wamid.1", "read", 0.2)])
    first = variants(await report(client))[("payment", "first", "A")]
    assert (first["sent"], first["delivered"], first["read"], first["recovered"]) == (1, 1, 1, 0)
    assert await _stale(client) == 0  # the report consumed what the writes listed

    # a reply and an escalation, written the way the dialogue and the handoff queue do
    async with client.app[SESSIONS].begin() as session:
        session.add(
            Message(
                contact_id=contact_id,
                direction="in",
                channel="whatsapp",
                text="later",
                intent="other",
                status="received",
                created_at=at(1),
            )
        )
        session.add(Conversation(contact_id=contact_id, state="bot", updated_at=at(1)))
    async with client.app[SESSIONS].begin() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.contact_id == contact_id)
            .values(escalated_at=at(1.5), state="waiting")
        )
    first = variants(await report(client))[("payment", "first", "A")]
    assert (first["replied"], first["handoffs"], first["deflected"]) == (1, 1, 0)
    assert first["median_first_answer_seconds"] is None
    async with client.app[SESSIONS].begin() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.contact_id == contact_id)
            .values(first_operator_reply_at=at(1.5) + timedelta(seconds=90))
        )
    first = variants(await report(client))[("payment", "first", "A")]
    assert first["median_first_answer_seconds"] == pytest.approx(90.0)

    # a second touch sent later takes the payment; the first keeps its reply
    await _send_touch(client, contact_id, chain_id, "second", 20, "wamid.2")
    paid = order_paid(when=at(22), total="6860.00")
    response = await client.post("/api/v1/events", json=paid, headers=AUTH)
    assert response.status == 202, await response.text()
    got = variants(await report(client))
    assert got[("payment", "first", "A")]["recovered"] == 0
    second = got[("payment", "second", "A")]
    assert (second["sent"], second["delivered"], second["recovered"]) == (1, 0, 1)
    assert [(m["currency"], m["amount"]) for m in second["recovered_revenue"]] == [
        ("RUB", "6860.00")
    ]
    flow = next(f for f in (await report(client))["flows"] if f["flow"] == "payment")
    assert (flow["chains"], flow["recovered"]) == (1, 1)

    # the chain stopped by an opt-out; a failed delivery never undoes the delivered one
    async with client.app[SESSIONS].begin() as session:
        await session.execute(
            update(Chain)
            .where(Chain.id == chain_id)
            .values(status="stopped", stop_reason="opt_out", stopped_at=at(22.5))
        )
    second = variants(await report(client))[("payment", "second", "A")]
    assert (second["opted_out"], second["delivered"]) == (1, 0)
    await apply_statuses(engine, [_status("wamid.2", "delivered", 20.1)])
    await apply_statuses(engine, [_status("wamid.2", "failed", 20.2)])
    second = variants(await report(client))[("payment", "second", "A")]
    assert (second["opted_out"], second["delivered"], second["read"]) == (1, 1, 0)
    assert checkout_id > 0


async def test_a_touch_sent_before_earlier_events_takes_their_credit(client: Client) -> None:
    """Inserting a touch re-credits the reply that followed it (touch insert trigger)."""
    contact_id, _, chain_id = await _contact_chain(client)
    await _send_touch(client, contact_id, chain_id, "first", 0, "wamid.1")
    async with client.app[SESSIONS].begin() as session:
        session.add(
            Message(
                contact_id=contact_id,
                direction="in",
                channel="whatsapp",
                text="stop",
                intent="opt_out",
                status="received",
                created_at=at(5),
            )
        )
    got = variants(await report(client))
    assert (
        got[("payment", "first", "A")]["replied"],
        got[("payment", "first", "A")]["opted_out"],
    ) == (1, 1)
    await _send_touch(client, contact_id, chain_id, "second", 4, "wamid.2")
    got = variants(await report(client))
    assert got[("payment", "first", "A")]["replied"] == 0
    assert (
        got[("payment", "second", "A")]["replied"],
        got[("payment", "second", "A")]["opted_out"],
    ) == (1, 1)


async def test_the_window_is_applied_when_reading(
    client: Client, aiohttp_client: Any, settings: Any, clock: Any
) -> None:
    """The columns keep delays: a shorter attribution window needs no recomputation."""
    from dataclasses import replace

    from bot.app import create_app

    contact_id, _, chain_id = await _contact_chain(client)
    await _send_touch(client, contact_id, chain_id, "first", 0, "wamid.1")
    paid = order_paid(when=at(22), total="6860.00")
    assert (await client.post("/api/v1/events", json=paid, headers=AUTH)).status == 202
    assert variants(await report(client))[("payment", "first", "A")]["recovered"] == 1
    short = replace(settings, attribution_hours=12)
    other = await aiohttp_client(create_app(short, clock=clock, run_nlu=False, run_scheduler=False))
    assert variants(await report(other))[("payment", "first", "A")]["recovered"] == 0


# --- random data against an attribution computed in Python ----------------------------

HOURS = (-30.0, -2.0, 0.0, 0.0, 0.5, 1.0, 3.0, 24.0, 24.0, 30.0, 47.5, 72.0, 75.0, 80.0, 100.0)


@dataclass
class World:
    """The rows as the oracle sees them (ids filled in once inserted)."""

    touches: list[dict[str, Any]] = field(default_factory=list)
    chains: list[dict[str, Any]] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)


def _h(rng: random.Random) -> datetime:
    return at(rng.choice(HOURS) + rng.choice((0.0, 0.0, 0.25)))


async def _random_world(client: Client, rng: random.Random, contacts: int) -> World:
    """Contacts with one or two chains, ties in sending times, events before and after."""
    world = World()
    async with client.app[SESSIONS].begin() as session:
        for n in range(contacts):
            contact = contact_row(
                f"r{n}",
                shop="default" if n % 9 else "other",
                phone=None,
                first_name=None,
                created_at=at(-50),
                updated_at=at(-50),
            )
            session.add(contact)
            await session.flush()
            for c in range(rng.choice((1, 1, 2))):
                paid_at = _h(rng) if rng.random() < 0.5 else None
                checkout = checkout_row(
                    contact.id,
                    f"k{n}-{c}",
                    status="paid" if paid_at else "open",
                    total=Decimal(rng.choice(("100.00", "250.50", "999.99"))),
                    currency=rng.choice(("RUB", "EUR")),
                    paid_at=paid_at,
                    last_activity_at=at(-40),
                    created_at=at(-40),
                    updated_at=at(-40),
                )
                session.add(checkout)
                await session.flush()
                stopped = _h(rng) if rng.random() < 0.2 else None
                flow = rng.choice(("cart", "payment"))
                chain = Chain(
                    contact_id=contact.id,
                    checkout_id=checkout.id,
                    flow=flow,
                    variant=rng.choice((None, "A", "B")),
                    status="stopped" if stopped else "active",
                    stop_reason="opt_out" if stopped else None,
                    stopped_at=stopped,
                    anchor_at=at(-40),
                    started_at=at(-40),
                )
                session.add(chain)
                await session.flush()
                world.chains.append(
                    {
                        "id": chain.id,
                        "paid_at": paid_at,
                        "stopped_at": stopped,
                        "total": checkout.total,
                        "currency": checkout.currency,
                    }
                )
                for step in ("first", "second", "third")[: rng.choice((1, 2, 3))]:
                    sent_at = _h(rng) if rng.random() < 0.9 else None
                    touch = touch_row(
                        chain,
                        step,
                        sent_at or at(200),
                        status="sent" if sent_at else "planned",
                        sent_at=sent_at,
                        created_at=at(-40),
                    )
                    session.add(touch)
                    await session.flush()
                    status = rng.choice((None, "sent", "delivered", "read", "failed"))
                    if sent_at is not None and status is not None:
                        message = Message(
                            contact_id=contact.id,
                            direction="out",
                            channel="whatsapp",
                            text="hi",
                            touch_id=touch.id,
                            status=status,
                            created_at=sent_at,
                        )
                        session.add(message)
                        await session.flush()
                        touch.message_id = message.id
                    world.touches.append(
                        {
                            "id": touch.id,
                            "chain": chain.id,
                            "contact": contact.id,
                            "shop": contact.shop,
                            "flow": flow,
                            "step": step,
                            "variant": chain.variant or "",
                            "sent_at": sent_at,
                            "status": status if sent_at else None,
                        }
                    )
            for _ in range(rng.choice((0, 0, 1, 2))):
                when, intent = _h(rng), rng.choice((None, "other", "opt_out"))
                session.add(
                    Message(
                        contact_id=contact.id,
                        direction="in",
                        channel="whatsapp",
                        text="r",
                        intent=intent,
                        status="received",
                        created_at=when,
                    )
                )
                world.inbound.append(
                    {"contact": contact.id, "at": when, "opt": intent == "opt_out"}
                )
            if rng.random() < 0.3:
                escalated = _h(rng)
                answer = rng.choice((None, 30.0, 120.0, 600.0))
                session.add(
                    Conversation(
                        contact_id=contact.id,
                        state="waiting",
                        escalated_at=escalated,
                        first_operator_reply_at=(
                            escalated + timedelta(seconds=answer) if answer else None
                        ),
                        updated_at=escalated,
                    )
                )
                world.conversations.append(
                    {"contact": contact.id, "at": escalated, "answer": answer}
                )
    return world


def _oracle(
    world: World, start: datetime, end: datetime
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The attribution rule done by hand: the last touch sent at or before an outcome gets
    it (of the chain for payments and stops, of the contact otherwise), within the window."""
    sent = [t for t in world.touches if t["sent_at"] is not None]

    def last(candidates: list[dict[str, Any]], when: datetime) -> dict[str, Any] | None:
        before = [t for t in candidates if t["sent_at"] <= when]
        if not before:
            return None
        best = max(before, key=lambda t: (t["sent_at"], t["id"]))
        return best if when - best["sent_at"] <= WINDOW else None

    got: dict[int, set[str]] = defaultdict(set)
    answers: dict[int, float] = {}
    revenue: dict[int, tuple[str, Decimal]] = {}
    for chain in world.chains:
        mine = [t for t in sent if t["chain"] == chain["id"]]
        if chain["paid_at"] and (touch := last(mine, chain["paid_at"])):
            got[touch["id"]].add("recovered")
            revenue[touch["id"]] = (chain["currency"], chain["total"])
        if chain["stopped_at"] and (touch := last(mine, chain["stopped_at"])):
            got[touch["id"]].add("opted_out")
    for message in world.inbound:
        mine = [t for t in sent if t["contact"] == message["contact"]]
        if touch := last(mine, message["at"]):
            got[touch["id"]] |= {"replied", "opted_out"} if message["opt"] else {"replied"}
    for conversation in world.conversations:
        mine = [t for t in sent if t["contact"] == conversation["contact"]]
        if touch := last(mine, conversation["at"]):
            got[touch["id"]].add("handoffs")
            if conversation["answer"] is not None:
                answers[touch["id"]] = conversation["answer"]

    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for t in sent:
        if not (start <= t["sent_at"] < end) or t["shop"] != "default":
            continue
        row = out.setdefault(
            (t["flow"], t["step"], t["variant"]),
            defaultdict(int, answers=[], revenue=defaultdict(Decimal)),
        )
        row["sent"] += 1
        row["delivered"] += t["status"] in ("delivered", "read")
        row["read"] += t["status"] == "read"
        for kind in ("replied", "recovered", "opted_out", "handoffs"):
            row[kind] += kind in got[t["id"]]
        row["deflected"] += "replied" in got[t["id"]] and "handoffs" not in got[t["id"]]
        if t["id"] in answers:
            row["answers"].append(answers[t["id"]])
        if t["id"] in revenue:
            currency, amount = revenue[t["id"]]
            row["revenue"][currency] += amount
    return out


def _chains_reached(world: World, start: datetime, end: datetime) -> dict[str, int]:
    reached: dict[str, set[int]] = defaultdict(set)
    for t in world.touches:
        if t["sent_at"] is not None and start <= t["sent_at"] < end and t["shop"] == "default":
            reached[t["flow"]].add(t["chain"])
    return {flow: len(chains) for flow, chains in reached.items()}


def _compare(world: World, body: dict[str, Any], start: datetime, end: datetime) -> None:
    expected = _oracle(world, start, end)
    got = variants(body)
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        for name in ("sent", "delivered", "read", "replied", "recovered", "opted_out"):
            assert row[name] == want[name], (key, name)
        assert (row["handoffs"], row["deflected"]) == (want["handoffs"], want["deflected"]), key
        median = statistics.median(want["answers"]) if want["answers"] else None
        assert row["median_first_answer_seconds"] == pytest.approx(median), key
        money = {m["currency"]: Decimal(m["amount"]) for m in row["recovered_revenue"]}
        assert money == {c: a for c, a in want["revenue"].items() if a}, key
    chains = {f["flow"]: f["chains"] for f in body["flows"]}
    assert chains == _chains_reached(world, start, end)


@pytest.mark.parametrize("seed", [7, 2026])
async def test_random_data_matches_attribution_by_hand(client: Client, seed: int) -> None:
    rng = random.Random(seed)
    world = await _random_world(client, rng, contacts=45)
    for start, end in ((at(-48), at(120)), (at(0.25), at(30))):
        params = {"from": start.isoformat(), "to": end.isoformat()}
        _compare(world, await report(client, **params), start, end)

    # later writes: payments, a status moving forward, new sends, then the report again
    async with client.app[SESSIONS].begin() as session:
        for chain in rng.sample(world.chains, 5):
            chain["paid_at"] = at(rng.choice((1.0, 25.0, 90.0)))
            checkout_id = await session.scalar(
                select(Chain.checkout_id).where(Chain.id == chain["id"])
            )
            await session.execute(
                update(Checkout)
                .where(Checkout.id == checkout_id)
                .values(status="paid", paid_at=chain["paid_at"])
            )
        for touch in [t for t in world.touches if t["sent_at"] is None][:3]:
            touch["sent_at"] = at(2.0)
            await session.execute(
                update(Touch).where(Touch.id == touch["id"]).values(sent_at=at(2.0), status="sent")
            )
        for touch in [t for t in world.touches if t["status"] == "delivered"][:3]:
            touch["status"] = "read"
            await session.execute(
                update(Message).where(Message.touch_id == touch["id"]).values(status="read")
            )
    start, end = at(-48), at(120)
    _compare(
        world,
        await report(client, **{"from": start.isoformat(), "to": end.isoformat()}),
        start,
        end,
    )
    assert await refresh_outcomes(client.app[SESSIONS]) == 0  # nothing left stale

    async with client.app[SESSIONS].begin() as session:
        for chain in [c for c in world.chains if c["paid_at"]]:
            chain["total"] = Decimal("1.50")  # a corrected amount changes the revenue
            checkout_id = await session.scalar(
                select(Chain.checkout_id).where(Chain.id == chain["id"])
            )
            await session.execute(
                update(Checkout).where(Checkout.id == checkout_id).values(total=chain["total"])
            )
    period = {"from": start.isoformat(), "to": end.isoformat()}
    _compare(world, await report(client, **period), start, end)
