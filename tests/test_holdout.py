"""Holdout (R-MX3): a flow's share of chains gets no messages at all, chosen by hash."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from bot.app import create_app
from bot.clock import SandboxClock
from bot.store.db import make_engine, make_session_factory
from bot.store.models import Chain, Contact, Touch
from flows.model import Flow
from tests.conftest import make_settings
from tests.factory import START, checkout_updated, consent, order_status
from tests.touches_fixtures import Shop

CONTACTS = 200


@pytest.fixture
async def shop(
    aiohttp_client: Callable[..., Any], tmp_path: Path, db_url: str, clock: SandboxClock
) -> AsyncIterator[Shop]:
    settings = make_settings(tmp_path, db_url, holdout_enabled=True)
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    yield Shop(client)


async def _chains(db_url: str) -> list[tuple[str, bool, int]]:
    """(contact id, holdout, touches planned or sent) of every chain."""
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            chains = (
                await session.execute(
                    select(Chain.id, Contact.external_id, Chain.holdout).join(
                        Contact, Contact.id == Chain.contact_id
                    )
                )
            ).all()
            touches = (await session.execute(select(Touch.chain_id))).scalars().all()
    finally:
        await engine.dispose()
    return [(str(c), bool(h), sum(1 for t in touches if t == i)) for i, c, h in chains]


async def test_held_out_chains_get_no_message_and_are_recorded(shop: Shop, db_url: str) -> None:
    events: list[dict[str, Any]] = []
    for n in range(CONTACTS):
        phone = f"+7916{n:07d}"
        events += [consent(f"h{n}", phone=phone), checkout_updated(f"h{n}", f"k{n}", phone=phone)]
    await shop.post(*events)
    chains = await _chains(db_url)
    assert len(chains) == CONTACTS
    held = [c for c in chains if c[1]]
    # abandoned_checkout holds out 10 % by default: a hash, so about, not exactly, 20 of 200
    assert 8 <= len(held) <= 35, len(held)
    assert all(planned == 0 for _, _, planned in held)
    assert all(planned == 1 for _, h, planned in chains if not h)

    await shop.set(START.replace(hour=10))  # touch 1 (30 min) is due for every messaged chain
    for cid, held_out, _ in chains[:40]:
        sent = await shop.outbox(cid)
        assert len(sent) == (0 if held_out else 1), (cid, held_out, sent)
    timeline = await shop.timeline(held[0][0])
    assert any(e["action"] == "held_out" and e["rule"].startswith("R-MX3") for e in timeline)
    started = next(e for e in timeline if e["action"] == "chain_started")
    assert started["detail"]["holdout"] is True


async def test_no_holdout_when_the_flow_sets_none(shop: Shop, db_url: str) -> None:
    # order-status messages are service messages: never held out
    events: list[dict[str, Any]] = []
    for n in range(60):
        phone = f"+7916{n:07d}"
        events.append(consent(f"s{n}", phone=phone))
        events.append(order_status(f"s{n}", "shipped", order_id=f"o{n}", event_id=f"st-{n}"))
    await shop.post(*events)
    chains = await _chains(db_url)
    assert chains and not any(h for _, h, _ in chains)


def _flow(**extra: Any) -> dict[str, Any]:
    return {
        "flow": "x",
        "trigger": {"event": "checkout.updated"},
        "steps": [{"step": "one", "delay": "30m", "template": "utter_x"}],
        **extra,
    }


def test_holdout_share_is_bounded_and_recovery_only() -> None:
    assert Flow.model_validate(_flow()).holdout_percent == 10
    assert Flow.model_validate(_flow(holdout=0)).holdout_percent == 0
    assert Flow.model_validate(_flow(holdout=50)).holdout_percent == 50
    with pytest.raises(ValidationError, match="holdout"):
        Flow.model_validate(_flow(holdout=51))
    with pytest.raises(ValidationError, match="holdout"):
        Flow.model_validate(_flow(purpose="service", holdout=5))
    assert Flow.model_validate(_flow(purpose="service")).holdout_percent == 0
