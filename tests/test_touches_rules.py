"""One test per sending rule, through the events API and the sandbox (clock, outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.app_keys import FLOWS, SESSIONS
from bot.store.models import Chain, Conversation, Touch
from bot.touches.planning import pick_variant
from tests.factory import START, at, event
from tests.touches_fixtures import Shop

Z = "+00:00"


def sent_at(items: list[dict[str, Any]]) -> list[str]:
    return [i["sent_at"] for i in items]


async def test_abandoned_checkout_three_touches(client: Any) -> None:
    """R-FL1/R-EV3: touch 1 at abandonment, touch 2 at 6 h, touch 3 at 24 h, then nothing."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(minutes=29)
    assert await shop.outbox("c1") == []
    await shop.advance(days=5)
    out = await shop.outbox("c1")
    assert [o["touch"]["step"] for o in out] == ["touch_1", "touch_2", "touch_3"]
    assert sent_at(out) == ["2026-03-02T09:30:00Z", "2026-03-02T15:00:00Z", "2026-03-03T09:00:00Z"]
    assert "Больше писать об этом заказе не будем" in out[2]["text"]
    assert all(o["touch"]["variant"] == out[0]["touch"]["variant"] for o in out)


async def test_stage_segments_texts(client: Any) -> None:
    """R-FL4: someone stuck at payment is not told about the cart, and vice versa."""
    shop = Shop(client)
    await shop.start("cart", stage="cart")
    await shop.start("pay", stage="payment", phone="+79160000002")
    await shop.advance(minutes=31)
    cart, pay = (await shop.outbox("cart"))[0], (await shop.outbox("pay"))[0]
    assert "корзин" in cart["text"] and "оплат" not in cart["text"]
    assert "оплат" in pay["text"] and "корзин" not in pay["text"]


async def test_no_consent_sends_nothing(client: Any) -> None:
    """R-SR1: no opt-in, no message; the timeline names the rule."""
    shop = Shop(client)
    from tests.factory import checkout_updated

    await shop.post(checkout_updated("c1"))
    await shop.advance(days=2)
    assert await shop.outbox("c1") == []
    assert any(e["rule"] == "R-SR1 no consent" for e in await shop.timeline("c1"))


async def test_only_the_consented_channel_and_revocation(client: Any) -> None:
    """R-SR1: SMS consent → SMS only; revocation stops the next touch at once."""
    shop = Shop(client)
    await shop.start("c1", channel="sms")
    await shop.advance(minutes=30)
    out = await shop.outbox("c1")
    assert [o["channel"] for o in out] == ["sms"]
    await shop.post(event("consent.revoked", "c1", at(hours=1), channel="sms"))
    await shop.advance(days=3)
    assert len(await shop.outbox("c1")) == 1
    assert any(
        "R-SR1" in (e["rule"] or "") and e["action"] == "skipped" for e in await shop.timeline("c1")
    )


async def test_quiet_hours_defer_to_morning(client: Any) -> None:
    """R-SR2: due at 21:15 Moscow → sent at 09:00 Moscow next day, audited as deferred."""
    shop = Shop(client)
    await shop.advance(hours=8, minutes=45)  # 17:45Z = 20:45 Moscow
    await shop.start("c1", when=at(hours=8, minutes=45))
    await shop.advance(hours=20)
    out = await shop.outbox("c1")
    assert out[0]["sent_at"] == "2026-03-03T06:00:00Z"
    assert any(e["rule"] == "R-SR2 quiet hours" for e in await shop.timeline("c1"))


async def test_never_sent_at_night_after_an_outage(client: Any, clock: Any) -> None:
    """R-SR2: the service was down until 02:00 local; the due touch waits for 09:00."""
    shop = Shop(client)
    await shop.start("c1")
    clock.set(at(hours=14))  # 23:00Z = 02:00 Moscow, nothing ran in between
    await shop.advance(seconds=0)
    assert await shop.outbox("c1") == []
    await shop.advance(hours=8)
    assert (await shop.outbox("c1"))[0]["sent_at"] == "2026-03-03T06:00:00Z"


async def test_unknown_zone_uses_shop_zone_and_safe_window(client: Any) -> None:
    """R-SR2: zone unknown, a +7 916 number: hours shared by its zones → 10:00 Moscow."""
    shop = Shop(client)
    await shop.advance(hours=7, minutes=45)  # 16:45Z = 19:45 Moscow
    await shop.start("c1", when=at(hours=7, minutes=45), timezone=None)
    await shop.advance(days=1)
    assert (await shop.outbox("c1"))[0]["sent_at"] == "2026-03-03T07:00:00Z"


async def test_caps_three_hours_apart_and_two_a_day(client: Any) -> None:
    """R-SR3: after a night deferral touch 2 waits 3 h after touch 1; 2 a local day."""
    shop = Shop(client)
    await shop.advance(hours=8, minutes=40)  # 17:40Z = 20:40 Moscow
    await shop.start("c1", when=at(hours=8, minutes=40))
    await shop.advance(days=4)
    out = await shop.outbox("c1")
    assert sent_at(out) == ["2026-03-03T06:00:00Z", "2026-03-03T09:00:00Z", "2026-03-04T06:00:00Z"]
    rules = {e["rule"] for e in await shop.timeline("c1")}
    assert "R-SR3 3 h between touches" in rules and "R-SR3 2 touches a day" in rules


async def test_carts_merge_into_one_chain(client: Any) -> None:
    """R-SR3/R-SR4: a second cart within 48 h joins the chain; no second touch 1."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(minutes=40)
    await shop.start("c1", kid="k2", when=at(minutes=40))
    await shop.advance(days=3)
    steps = [o["touch"]["step"] for o in await shop.outbox("c1")]
    assert steps.count("touch_1") == 1 and len(steps) == 3
    assert any(e["action"] == "merged" for e in await shop.timeline("c1"))


async def test_new_session_after_cooldown_supersedes(client: Any) -> None:
    """R-SR4: after the cooldown a new checkout starts a new chain and stops the old one."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(hours=49)
    await shop.start("c1", kid="k2", when=at(hours=49))
    async with client.app[SESSIONS]() as session:
        chains = (await session.scalars(select(Chain).order_by(Chain.id))).all()
    assert [c.status for c in chains][-1] == "active" and len(chains) == 2
    assert chains[0].status in ("stopped", "completed")


async def test_stop_on_paid_and_on_reply(client: Any) -> None:
    """R-SR5: paid stops the chain; a reply pauses it (pending touch cancelled)."""
    shop = Shop(client)
    await shop.start("paid")
    await shop.start("reply", phone="+79160000002")
    await shop.advance(minutes=30)
    await shop.post(
        event("order.paid", "paid", at(hours=1), checkout={"id": "k1"}, order={"id": "o1"})
    )
    response = await client.post(  # the shopper answers touch 1 in the chat
        "/sandbox/inbound",
        json={"channel": "whatsapp", "from": "+79160000002", "text": "Подскажите по доставке"},
    )
    assert response.status == 200, await response.text()
    await shop.advance(days=3)
    assert len(await shop.outbox("paid")) == 1 and len(await shop.outbox("reply")) == 1
    async with client.app[SESSIONS]() as session:
        statuses = (await session.scalars(select(Chain.status).order_by(Chain.id))).all()
    assert statuses[1] in ("paused", "stopped")  # the conversation took over


async def test_revisit_rearms_pending_touch(client: Any) -> None:
    """R-SR5: a revisit cancels the pending touch 2 and re-arms it 2–3 h after the visit."""
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(hours=3)
    await shop.post(event("checkout.visited", "c1", at(hours=3), checkout={"id": "k1"}))
    await shop.advance(hours=6)
    out = await shop.outbox("c1")
    assert out[1]["touch"]["step"] == "touch_2"
    assert out[1]["sent_at"] == "2026-03-02T14:30:00Z"  # visit 12:00Z + 150 min
    async with client.app[SESSIONS]() as session:
        assert len((await session.scalars(select(Chain))).all()) == 1


async def test_operator_owned_conversation_holds_touches(client: Any) -> None:
    """A conversation not in state "bot" stops touches."""
    shop = Shop(client)
    await shop.start("c1")
    async with client.app[SESSIONS].begin() as session:
        chain = await session.scalar(select(Chain))
        session.add(
            Conversation(
                contact_id=chain.contact_id, state="operator", misunderstood=0, updated_at=START
            )
        )
    await shop.advance(days=2)
    assert await shop.outbox("c1") == []


async def test_whatsapp_window_decides_template(client: Any) -> None:
    """R-SR6: inside 24 h of the shopper's last message free text; outside a template."""
    shop = Shop(client)
    await shop.start("in")
    await shop.start("out", phone="+79160000002")
    async with client.app[SESSIONS].begin() as session:
        chain = await session.scalar(select(Chain).order_by(Chain.id))
        session.add(
            Conversation(
                contact_id=chain.contact_id,
                state="bot",
                misunderstood=0,
                last_inbound_at=START,
                last_channel="whatsapp",
                updated_at=START,
            )
        )
    await shop.advance(minutes=30)
    assert (await shop.outbox("in"))[0]["template"] is False
    assert (await shop.outbox("out"))[0]["template"] is True


async def test_fallback_to_sms_only_with_sms_consent(client: Any) -> None:
    """R-SR7: not on WhatsApp → SMS when SMS consent exists, nothing otherwise."""
    shop = Shop(client)
    from tests.factory import consent

    await shop.start("both", phone="+79160000001")
    await shop.post(consent("both", "sms", phone="+79160000001"))
    await shop.start("wa", phone="+79160000002")
    for phone in ("+79160000001", "+79160000002"):
        response = await client.post("/sandbox/providers/whatsapp/unavailable", json={"to": phone})
        assert response.status == 200
    await shop.advance(minutes=30)
    both = await shop.outbox("both")  # the refused WhatsApp attempt, then the SMS
    assert [(o["channel"], o["touch"]["step"], o["sent_at"]) for o in both] == [
        ("whatsapp", "touch_1", "2026-03-02T09:30:00Z"),
        ("sms", "touch_1", "2026-03-02T09:30:00Z"),
    ]
    assert [o["channel"] for o in await shop.outbox("wa")] == ["whatsapp"]
    rules = [e["rule"] for e in await shop.timeline("wa")]
    assert "R-SR7 not on WhatsApp, no SMS consent" in rules


async def test_every_language_says_how_to_stop(client: Any) -> None:
    """R-SR8/R-PZ3: the shopper's language, with its stop hint, and no timestamps."""
    shop = Shop(client)
    hints = {"ru": "СТОП", "en": "Reply STOP", "pl": "Odpisz STOP", "zh": "退订"}
    for n, language in enumerate(hints):
        await shop.start(language, phone=f"+7916000000{n}", language=language)
    await shop.advance(days=3)
    for language, hint in hints.items():
        out = await shop.outbox(language)
        assert len(out) == 3
        assert all(hint in o["text"] and "09:30" not in o["text"] for o in out)


async def test_country_rules(client: Any) -> None:
    """R-SR10: US one recovery SMS, no WhatsApp marketing templates to +1, India 10:00."""
    shop = Shop(client)
    await shop.start(
        "us", channel="sms", phone="+12125550100", timezone="America/New_York", language="en"
    )
    await shop.start(
        "uswa", channel="whatsapp", phone="+12125550101", timezone="America/New_York", language="en"
    )
    await shop.advance(hours=4)  # 13:00Z = 08:00 New York: still quiet for the shop
    await shop.start(
        "in",
        channel="sms",
        phone="+919812345678",
        timezone="Asia/Kolkata",
        language="en",
        when=at(hours=4),
    )  # 13:00Z = 18:30 Kolkata
    await shop.advance(days=3)
    us = await shop.outbox("us")
    assert len(us) == 1 and us[0]["channel"] == "sms"
    assert "R-SR10 US/CA one recovery SMS" in [e["rule"] for e in await shop.timeline("us")]
    assert await shop.outbox("uswa") == []
    assert "R-SR10 US/CA no WhatsApp marketing" in [e["rule"] for e in await shop.timeline("uswa")]
    india = await shop.outbox("in")
    assert [o["touch"]["step"] for o in india] == ["touch_1", "touch_2", "touch_3"]
    kolkata = ZoneInfo("Asia/Kolkata")
    hours = [datetime.fromisoformat(o["sent_at"].replace("Z", "+00:00")) for o in india]
    assert all(10 <= h.astimezone(kolkata).hour < 21 for h in hours)


async def test_florida_and_india_windows_are_named(client: Any) -> None:
    """R-SR10: the stricter window applies and the audit names it."""
    shop = Shop(client)
    await shop.advance(hours=15, minutes=45)  # 00:45Z: 19:45 Miami, 06:15 Kolkata
    await shop.start(
        "fl",
        channel="sms",
        phone="+13055550100",
        timezone="America/New_York",
        when=at(hours=15, minutes=45),
    )
    await shop.start(
        "in",
        channel="sms",
        phone="+919812345678",
        timezone="Asia/Kolkata",
        when=at(hours=15, minutes=45),
    )
    await shop.advance(days=1)
    fl, india = await shop.outbox("fl"), await shop.outbox("in")
    assert fl[0]["sent_at"] == "2026-03-03T14:00:00Z"  # 09:00 New York, not 19:30
    assert india[0]["sent_at"] == "2026-03-03T04:30:00Z"  # 10:00 Kolkata, not 09:00
    assert "R-SR10 US 8pm states quiet hours" in [e["rule"] for e in await shop.timeline("fl")]
    assert "R-SR10 India quiet hours" in [e["rule"] for e in await shop.timeline("in")]


async def test_ab_variant_deterministic_and_recorded(client: Any) -> None:
    """R-FL5: the variant is a hash of the chain, recorded on chain and touches."""
    shop = Shop(client)
    for n in range(12):  # at payment: the shop's SPRING5 promotion applies to these carts
        await shop.start(f"c{n}", phone=f"+791600000{n:02d}", stage="payment")
    await shop.advance(days=3)
    flow = client.app[FLOWS].current.flows["abandoned_checkout"]
    async with client.app[SESSIONS]() as session:
        chains = (await session.scalars(select(Chain))).all()
        touches = (await session.scalars(select(Touch))).all()
    assert all(c.variant == pick_variant(flow, c.id) for c in chains)
    assert {c.variant for c in chains} == {"incentive", "no_incentive"}
    by_chain = {c.id: c.variant for c in chains}
    assert all(t.variant == by_chain[t.chain_id] for t in touches)
    for n in range(12):
        last = (await shop.outbox(f"c{n}"))[-1]
        assert ("скидка 5%" in last["text"]) == (last["touch"]["variant"] == "incentive")


async def test_sandbox_clock_contract(client: Any) -> None:
    response = await client.post("/sandbox/clock", json={"set": "2026-03-01T00:00:00Z"})
    assert response.status == 409
    response = await client.post("/sandbox/clock", json={"advance_seconds": 60})
    assert (await response.json()) == {"now": "2026-03-02T09:01:00Z"}
    response = await client.post("/sandbox/clock", json={"advance_seconds": "x"})
    assert response.status == 400
    assert (await client.get("/api/v1/contacts/zz/timeline")).status == 401


async def test_touches_not_due_are_left_alone(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1")
    await shop.advance(minutes=10)
    async with client.app[SESSIONS]() as session:
        touch = await session.scalar(select(Touch))
    assert touch.status == "planned" and touch.due_at == START + timedelta(minutes=30)
    async with client.app[SESSIONS].begin() as session:
        await session.execute(update(Touch).values(status="planned"))


async def test_batch_of_first_checkouts_plans_each_once(client: Any) -> None:
    """The bulk planning path: many new checkouts in one request, one touch 1 each."""
    from tests.factory import checkout_updated, consent

    shop = Shop(client)
    people = [f"b{n}" for n in range(6)]
    await shop.post(*(consent(p, phone=f"+79160000{n:03d}") for n, p in enumerate(people)))
    await shop.post(*(checkout_updated(p, stage="payment") for p in people))
    await shop.advance(minutes=30)
    for person in people:
        out = await shop.outbox(person)
        assert [(o["touch"]["step"], o["sent_at"]) for o in out] == [
            ("touch_1", "2026-03-02T09:30:00Z")
        ]
        assert "оплат" in out[0]["text"]
