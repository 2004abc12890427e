"""Inbound messages are never lost: processed-marking only after success, retries with backoff,
dead letters an admin sees, and a crashed holder's rows taken over (R-SR1, R-SR5)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select

from bot.app import create_app
from bot.app_keys import CLOCK, ENGINE, INBOUND_HANDLER, INBOX, SESSIONS
from bot.channels.base import InboundMessage
from bot.channels.parsing import Parsed
from bot.channels.whatsapp import parse_webhook
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.inbound_writer import store
from bot.store.models import Consent, InboundWebhook
from bot.webhooks.ledger import Ledger, RetryPolicy
from tests.channels_fixtures import Received, fakes, wa_signed, wa_text, wait_for
from tests.conftest import make_settings
from tests.console_fixtures import ADMIN, OPERATOR, login
from tests.touches_fixtures import Shop

Client = TestClient[Any, Any]
SECRET = "sandbox-app-secret"
PHONE = "79161234567"


@pytest.fixture
def fast_settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path,
        db_url,
        send_timeout_seconds=1,
        inbox_retry_seconds=0.05,
        inbox_lease_seconds=1.0,
        inbox_max_attempts=3,
    )


@pytest.fixture
def start(
    aiohttp_client: Callable[..., Any], fast_settings: Settings, clock: SandboxClock
) -> Callable[..., Any]:
    """Start one instance of the service on the shared database (call again: a restart)."""

    async def started(handler: Any = None) -> Client:
        app: web.Application = create_app(
            fast_settings, clock=clock, run_nlu=False, run_scheduler=False
        )
        if handler is not None:
            app[INBOUND_HANDLER] = handler
        client: Client = await aiohttp_client(app)
        fakes(client).target = str(client.make_url("")).rstrip("/")
        return client

    return started


async def _post(client: Client, wamid: str, text: str) -> None:
    body, headers = wa_signed(wa_text(wamid, PHONE, text), SECRET)
    response = await client.post("/webhooks/whatsapp", data=body, headers=headers)
    assert response.status == 200


async def _row(client: Client, wamid: str) -> InboundWebhook:
    async with client.app[SESSIONS]() as session:
        query = select(InboundWebhook).where(InboundWebhook.dedupe_key == wamid)
        return (await session.scalars(query)).one()


def _processed(client: Client, wamid: str) -> Callable[[], Any]:
    async def check() -> bool:
        return (await _row(client, wamid)).processed_at is not None

    return check


def _fail_statements(client: Client, marker: str, times: int) -> list[str]:
    """Make the next `times` statements containing `marker` raise, as a database hiccup would."""
    raised: list[str] = []
    engine = client.app[ENGINE].sync_engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if marker in statement and len(raised) < times:
            raised.append(statement)
            raise ConnectionResetError("injected: connection lost mid-transaction")

    event.listen(engine, "before_cursor_execute", before)
    return raised


def _replies_to(client: Client) -> list[dict[str, Any]]:
    return [s for s in fakes(client).whatsapp.sent if s["to"] == PHONE]


async def test_stop_is_honoured_after_the_database_failed_twice(start: Any) -> None:
    client = await start()
    shop = Shop(client)
    await shop.start("c1")
    raised = _fail_statements(client, "INSERT INTO messages", times=2)
    await _post(client, "wamid.STOP1", "СТОП")
    await wait_for(_processed(client, "wamid.STOP1"), "the STOP processed after its retries", 20)
    assert len(raised) == 2
    row = await _row(client, "wamid.STOP1")
    assert row.attempts == 2 and row.dead_at is None
    async with client.app[SESSIONS]() as session:
        consents = (await session.scalars(select(Consent))).all()
    assert consents and all(c.revoked_at is not None for c in consents)
    await shop.advance(days=3)
    assert await shop.outbox("c1") == []
    assert len(_replies_to(client)) == 1  # the confirmation, once


async def test_a_retried_message_does_not_send_its_reply_twice(start: Any) -> None:
    client = await start()
    await Shop(client).start("c1")
    # The reply reached the provider, then recording its outcome failed: processing failed.
    raised = _fail_statements(client, "UPDATE messages SET provider_message_id", times=1)
    await _post(client, "wamid.STOP2", "СТОП")
    await wait_for(_processed(client, "wamid.STOP2"), "processed after the retry", 20)
    assert len(raised) == 1 and (await _row(client, "wamid.STOP2")).attempts == 1
    assert len(_replies_to(client)) == 1


class Blocking:
    """A dialogue that never finishes: the instance dies while processing."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def __call__(self, item: InboundMessage) -> None:
        self.entered.set()
        await asyncio.Event().wait()


async def test_a_message_survives_crashes_before_and_during_processing(start: Any) -> None:
    first = await start(Received())
    items: list[Parsed] = parse_webhook(wa_text("wamid.CRASH", PHONE), first.app[CLOCK].now())
    await first.app[INBOX].drain(grace=0)  # stored, then the process died before processing
    assert len(await store(first.app[ENGINE], "whatsapp", items, first.app[CLOCK].now())) == 1

    blocking = Blocking()
    second = await start(blocking)  # the restart takes the row and dies while processing it
    await asyncio.wait_for(blocking.entered.wait(), 10)
    await second.app[INBOX].drain(grace=0)
    assert not await _processed(second, "wamid.CRASH")()

    received = Received()
    await start(received)  # the next restart finishes it, once the dead holder's lease ran out
    await wait_for(_processed(second, "wamid.CRASH"), "processed by the third instance", 20)
    assert [m.provider_message_id for m in received.items] == ["wamid.CRASH"]


class Failing:
    async def __call__(self, item: InboundMessage) -> None:
        raise RuntimeError("the dialogue is broken for +79161234567")


async def test_a_permanently_failing_message_becomes_a_visible_dead_letter(start: Any) -> None:
    client = await start(Failing())
    health = await (await client.get("/health")).json()
    assert health["components"]["inbox"] == "ok"
    await _post(client, "wamid.DEAD", "Привет")

    async def dead() -> bool:
        return (await _row(client, "wamid.DEAD")).dead_at is not None

    await wait_for(dead, "a dead letter", 20)
    row = await _row(client, "wamid.DEAD")
    assert row.attempts == 3 and row.processed_at is None
    assert "RuntimeError" in (row.error or "") and "9161234567" not in (row.error or "")
    health = await (await client.get("/health")).json()
    assert health["status"] == "degraded" and health["components"]["inbox"] == "degraded"
    assert health["details"]["inbox"] == {"dead_letters": 1}
    metrics = await (await client.get("/metrics")).text()
    assert "nudge_inbox_dead_letters 1.0" in metrics
    assert 'nudge_inbox_failures_total{outcome="dead"} 1.0' in metrics

    from handoff.auth import create_operator

    sessions, now = client.app[SESSIONS], client.app[CLOCK].now()
    await create_operator(sessions, ADMIN[0], ADMIN[1], "admin", now)
    await create_operator(sessions, OPERATOR[0], OPERATOR[1], "operator", now)
    admin, operator = await login(client, *ADMIN), await login(client, *OPERATOR)
    path = "/console/api/inbox/dead-letters"
    assert (await client.get(path, headers=operator)).status == 403
    listed = await (await client.get(path, headers=admin)).json()
    assert listed["count"] == 1
    [letter] = listed["dead_letters"]
    assert letter["id"] == row.id and letter["channel"] == "whatsapp" and letter["attempts"] == 3
    page = await (await client.get("/console/admin", headers=admin)).text()
    assert "dead-letters" in page


async def test_two_instances_never_claim_the_same_row(start: Any) -> None:
    client = await start(Received())
    engine, now = client.app[ENGINE], client.app[CLOCK].now()
    await client.app[INBOX].drain(grace=0)  # only the two ledgers below take rows
    for i in range(200):
        items = parse_webhook(wa_text(f"wamid.TWO{i}", PHONE), now)
        await store(engine, "whatsapp", items, now)
    policy = RetryPolicy(lease_seconds=60)
    one, two = Ledger(engine, policy, "one"), Ledger(engine, policy, "two")
    taken: list[list[int]] = [[], []]

    async def claim_all(ledger: Ledger, into: list[int]) -> None:
        while claimed := await ledger.claim(limit=7, unclaimed=True):
            into.extend(c.row_id for c in claimed)

    await asyncio.gather(claim_all(one, taken[0]), claim_all(two, taken[1]))
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == 200


def test_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2.0, cap_seconds=300.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert policy.backoff(30) == 300.0
