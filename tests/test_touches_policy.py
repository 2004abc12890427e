"""The sending policy on hand-made contexts: rules whose situations are slow to reach
through events (R-SR1, R-SR10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.settings import PROJECT_ROOT, load_settings
from bot.store.models import Chain
from bot.touches.policy import Context, decide
from flows.loader import FlowSet, load_flow_set
from tests.factory import at, checkout_row, checkout_updated, consent, contact_row, event
from tests.touches_fixtures import Shop

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 New York


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    flow_set, problems = load_flow_set(PROJECT_ROOT)
    assert problems == []
    return flow_set


def _context(
    flows: FlowSet, flow: str, consents: set[str], started: datetime, anchor: datetime
) -> Context:
    contact = contact_row(
        id=1, phone="+12125550100", timezone="America/New_York", language="en", first_name="Al"
    )
    chain = Chain(
        id=1, contact_id=1, flow=flow, status="active", started_at=started, anchor_at=anchor
    )
    checkout = checkout_row(1, id=1)
    ctx = Context(contact, chain, flows.flows[flow], checkout, None, set(consents))
    return ctx


def test_us_sms_window_counts_from_the_abandonment_not_the_chain_start(flows: FlowSet) -> None:
    """A cart merged 40 h into the chain: 54 h after the start, 14 h after the abandonment."""
    settings = load_settings(root=PROJECT_ROOT)
    ctx = _context(flows, "abandoned_checkout", {"sms"}, T0, T0 + timedelta(hours=40))
    step = flows.flows["abandoned_checkout"].steps[2]
    decision = decide(ctx, step, T0 + timedelta(hours=54), flows, settings)
    assert (decision.action, decision.channel) == ("send", "sms")
    late = decide(ctx, step, T0 + timedelta(hours=96), flows, settings)
    assert late.action == "skip" and late.rule == "R-SR10 US/CA SMS only within 48 h"


async def test_recovery_touches_need_a_recovery_consent(client: Any) -> None:
    """R-SR1: a service consent does not allow recovery touches; the audit says so."""
    shop = Shop(client)
    await shop.post(_consent("svc", "service"), checkout_updated("svc"))
    await shop.advance(days=2)
    assert await shop.outbox("svc") == []
    assert "R-SR1 no consent" in [e["rule"] for e in await shop.timeline("svc")]


async def test_order_status_needs_a_service_or_recovery_consent(client: Any) -> None:
    """R-SR1: order-status messages go with a service or a recovery consent, not without."""
    shop = Shop(client)
    for cid, purpose in (("svc", "service"), ("rec", "recovery"), ("none", None)):
        phone = f"+791600000{len(cid)}{ord(cid[0]) % 10}"
        if purpose is None:
            await shop.post(checkout_updated(cid, phone=phone))
        else:
            await shop.post(_consent(cid, purpose, phone=phone))
        await shop.post(
            event(
                "order.status_changed",
                cid,
                at(minutes=1),
                order={"id": f"o-{cid}", "status": "shipped"},
            )
        )
    await shop.advance(hours=1)
    assert [o["touch"]["step"] for o in await shop.outbox("svc")] == ["status:shipped"]
    assert [o["touch"]["step"] for o in await shop.outbox("rec")] == ["status:shipped"]
    assert await shop.outbox("none") == []


def _consent(cid: str, purpose: str, **person: Any) -> dict[str, Any]:
    return consent(cid, **person) | {"purpose": purpose}


async def test_service_messages_run_beside_recovery_and_count_toward_its_day(
    client: Any,
) -> None:
    """R-SR4: an order-status message goes out while a recovery chain is active, and counts
    toward the chain's 2 touches a local day (R-SR3): touch 2 waits for the next day."""
    shop = Shop(client)
    await shop.start("c1")  # touch 1 at 09:30Z = 12:30 Moscow
    await shop.advance(minutes=30)
    await shop.post(
        event(
            "order.status_changed", "c1", at(minutes=30), order={"id": "o-9", "status": "shipped"}
        )
    )
    await shop.advance(hours=1)
    await shop.advance(days=1)
    out = [(o["touch"]["step"], o["sent_at"]) for o in await shop.outbox("c1")]
    assert out[:3] == [
        ("touch_1", "2026-03-02T09:30:00Z"),
        ("status:shipped", "2026-03-02T09:30:00Z"),
        ("touch_2", "2026-03-03T06:00:00Z"),  # not 15:00Z: 09:00 Moscow the next day
    ]
    assert "R-SR3 2 touches a day" in [e["rule"] for e in await shop.timeline("c1")]
