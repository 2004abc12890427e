"""The planner on mixed batches: new, merged, superseded and multi-event contacts at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app_keys import FLOWS, SESSIONS
from bot.store.models import Chain, Checkout, Contact, Touch
from bot.touches.planning import pick_variant
from tests.factory import at, checkout_updated, consent, event
from tests.touches_fixtures import Shop


async def _chains(client: Any, cid: str) -> list[Chain]:
    async with client.app[SESSIONS]() as session:
        found = await session.scalars(
            select(Chain)
            .join(Contact, Contact.id == Chain.contact_id)
            .where(Contact.external_id == cid)
            .order_by(Chain.id)
        )
        return list(found.all())


async def _touches(client: Any, chain_id: int) -> list[Touch]:
    async with client.app[SESSIONS]() as session:
        found = await session.scalars(
            select(Touch).where(Touch.chain_id == chain_id).order_by(Touch.id)
        )
        return list(found.all())


async def test_one_batch_of_new_merged_superseded_and_multi_event_contacts(client: Any) -> None:
    """R-SR3/R-SR4 in one request: a cart within the cooldown merges, a checkout after it
    supersedes the still active chain, a new contact starts one; one active chain each."""
    shop = Shop(client)
    # "old": no consent, so its chain stays active with nothing sent (nothing fires).
    await shop.post(checkout_updated("old", when=at(), phone="+79160000001"))
    await shop.post(consent("new", phone="+79160000003"))
    await shop.advance(hours=47)
    await shop.start("merge", when=at(hours=47), phone="+79160000002")
    await shop.advance(hours=2)  # 49 h: "old" is past the 48 h cooldown, "merge" is not
    await shop.post(
        checkout_updated("merge", kid="k2", when=at(hours=49), phone="+79160000002"),
        checkout_updated("old", when=at(hours=49), phone="+79160000001"),
        checkout_updated("new", when=at(hours=49), phone="+79160000003"),
        consent("both", phone="+79160000004"),
        checkout_updated("both", when=at(hours=49), phone="+79160000004"),
    )
    flow = client.app[FLOWS].current.flows["abandoned_checkout"]

    merged = await _chains(client, "merge")
    assert [c.status for c in merged] == ["active"]
    async with client.app[SESSIONS]() as session:
        k2 = await session.scalar(select(Checkout.id).where(Checkout.external_id == "k2"))
    assert merged[0].checkout_id == k2
    actions = [(e["action"], e["rule"]) for e in await shop.timeline("merge")]
    assert ("merged", "R-SR3 carts merged into one session") in actions

    old, renewed = await _chains(client, "old")
    assert (old.status, old.stop_reason) == ("stopped", "superseded")
    assert renewed.status == "active" and renewed.anchor_at == at(hours=49)
    entries = await shop.timeline("old")
    order = [(e["action"], e.get("chain_id")) for e in entries]
    assert order.index(("stopped", old.id)) < order.index(("chain_started", renewed.id))
    assert ("skipped", "R-SR1 no consent") in [(e["action"], e["rule"]) for e in entries]

    for cid in ("new", "both"):
        (chain,) = await _chains(client, cid)
        assert chain.status == "active"
        touches = await _touches(client, chain.id)
        assert [(t.step, t.status, t.due_at) for t in touches] == [
            ("touch_1", "planned", at(hours=49, minutes=30))
        ]
        assert touches[0].variant == chain.variant

    async with client.app[SESSIONS]() as session:
        chains = (await session.scalars(select(Chain))).all()
    assert all(c.variant == pick_variant(flow, c.id) for c in chains)
    assert len({c.id for c in chains}) == len(chains) == 5


async def test_revisit_then_update_in_one_batch_keep_the_latest_anchor(client: Any) -> None:
    """Both events of one contact in one request, in order: the chain ends anchored at the
    later activity and touch 2 is re-armed from it (R-SR5)."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(hours=1)  # touch 1 went out at 09:30
    await shop.post(
        event("checkout.visited", "c1", at(hours=1), checkout={"id": "k1"}),
        checkout_updated("c1", when=at(hours=1, minutes=5)),
    )
    (chain,) = await _chains(client, "c1")
    assert chain.anchor_at == at(hours=1, minutes=5)
    touches = await _touches(client, chain.id)
    pending = [t for t in touches if t.status == "planned"]
    assert [(t.step, t.due_at) for t in pending] == [("touch_2", at(hours=3, minutes=35))]
    assert {t.step for t in touches if t.status == "cancelled"} == {"touch_2"}


async def test_single_new_checkout_without_consent_starts_a_chain_and_audits_the_skip(
    client: Any,
) -> None:
    """One event alone in its request takes the bulk path too: chain, variant, audit."""
    shop = Shop(client)
    await shop.post(checkout_updated("solo", when=at()))
    (chain,) = await _chains(client, "solo")
    assert chain.status == "active" and chain.variant is not None
    assert await _touches(client, chain.id) == []
    actions = [(e["action"], e["rule"]) for e in await shop.timeline("solo")]
    assert actions[:2] == [
        ("chain_started", "R-FL5 variant by hash"),
        ("skipped", "R-SR1 no consent"),
    ]
