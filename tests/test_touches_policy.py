"""The sending policy on hand-made contexts: rules whose situations are slow to reach
through events (R-SR1, R-SR10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import PROJECT_ROOT, load_settings
from bot.store.models import Chain, Checkout, Contact
from bot.touches.policy import Context, decide
from flows.loader import FlowSet, load_flow_set

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 New York


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    flow_set, problems = load_flow_set(PROJECT_ROOT)
    assert problems == []
    return flow_set


def _context(
    flows: FlowSet, flow: str, consents: dict[str, str], started: datetime, anchor: datetime
) -> Context:
    contact = Contact(
        id=1, phone="+12125550100", timezone="America/New_York", language="en", first_name="Al"
    )
    chain = Chain(
        id=1, contact_id=1, flow=flow, status="active", started_at=started, anchor_at=anchor
    )
    checkout = Checkout(id=1, contact_id=1, status="open", stage="cart", failed_payments=0)
    ctx = Context(contact, chain, flows.flows[flow], checkout, None, set(consents))
    return ctx


def test_us_sms_window_counts_from_the_abandonment_not_the_chain_start(flows: FlowSet) -> None:
    """A cart merged 40 h into the chain: 54 h after the start, 14 h after the abandonment."""
    settings = load_settings(root=PROJECT_ROOT)
    ctx = _context(flows, "abandoned_checkout", {"sms": "recovery"}, T0, T0 + timedelta(hours=40))
    step = flows.flows["abandoned_checkout"].steps[2]
    decision = decide(ctx, step, T0 + timedelta(hours=54), flows, settings)
    assert (decision.action, decision.channel) == ("send", "sms")
    late = decide(ctx, step, T0 + timedelta(hours=96), flows, settings)
    assert late.action == "skip" and late.rule == "R-SR10 US/CA SMS only within 48 h"
