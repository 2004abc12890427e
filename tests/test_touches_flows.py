"""Failed-payment flows by reason (R-FL2), order status (R-FL3), flow files and reload."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import SESSIONS
from bot.settings import PROJECT_ROOT
from bot.store.models import Conversation
from flows.designer import DesignerFiles
from flows.loader import load_flow_set
from tests.conftest import make_settings
from tests.factory import at, event, payment_failed
from tests.touches_fixtures import Shop


async def test_card_error_reminder_within_five_minutes(client: Any) -> None:
    """R-FL2: card/3-DS error → help within 5 min, the pay link, never a bank code."""
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.advance(minutes=1)
    await shop.post(payment_failed("c1", "three_ds", at(minutes=1)))
    await shop.advance(minutes=5)
    out = await shop.outbox("c1")
    assert [(o["touch"]["flow"], o["sent_at"]) for o in out] == [
        ("payment_card", "2026-03-02T09:06:00Z")
    ]
    assert "https://pay.example/k1" in out[0]["text"] and "51" not in out[0]["text"]
    await shop.advance(days=2)
    steps = [o["touch"]["step"] for o in await shop.outbox("c1")]
    assert steps == ["reminder_1", "reminder_2"]  # the abandoned chain was superseded


async def test_insufficient_funds_after_an_hour_other_methods(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.post(payment_failed("c1", "insufficient_funds", at(minutes=0)))
    await shop.advance(minutes=59)
    assert await shop.outbox("c1") == []
    await shop.advance(minutes=1)
    out = await shop.outbox("c1")
    assert out[0]["touch"]["flow"] == "payment_funds" and "способ" in out[0]["text"]


async def test_risk_block_guides_to_verification(client: Any) -> None:
    shop = Shop(client)
    await shop.start("c1", stage="payment", language="en")
    await shop.post(payment_failed("c1", "risk_block", at(minutes=0)))
    await shop.advance(minutes=5)
    out = await shop.outbox("c1")
    assert "check" in out[0]["text"] and "Verify" in out[0]["buttons"]


async def test_five_failures_go_to_manual_review(client: Any) -> None:
    """R-FL2/R-SR4: failures of one checkout share one chain; after 5 a person takes over."""
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    for n in range(4):
        await shop.post(payment_failed("c1", "card_data", at(minutes=n * 10)))
        await shop.advance(minutes=10)
    out = await shop.outbox("c1")
    assert len(out) == 1
    rules = [e["rule"] for e in await shop.timeline("c1")]
    assert "R-SR4 failure joins the checkout's payment chain" in rules
    await shop.post(payment_failed("c1", "card_data", at(minutes=40)))
    await shop.advance(days=3)
    assert len(await shop.outbox("c1")) == 1
    async with client.app[SESSIONS]() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None and conversation.state == "waiting_operator"
    assert conversation.handoff_reason == "manual_review"


async def _retry_client(
    aiohttp_client: Any,
    aiohttp_server: Any,
    tmp_path: Path,
    db_url: str,
    clock: Any,
    ok: bool,
    root: Path = PROJECT_ROOT,
) -> tuple[Any, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    async def retry(request: web.Request) -> web.Response:
        calls.append(await request.json())
        return web.json_response({"status": "paid" if ok else "failed"})

    fake = web.Application()
    fake.router.add_post("/retry", retry)
    server = await aiohttp_server(fake)
    url = str(server.make_url("/retry"))
    settings = make_settings(tmp_path, db_url, root=root, shop_retry_url=url)
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    return await aiohttp_client(app), calls


async def test_platform_error_retry_succeeds(
    aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    """R-FL2: platform error → the shop's retry hook after ~2 min; success is told."""
    client, calls = await _retry_client(
        aiohttp_client, aiohttp_server, tmp_path, db_url, clock, True
    )
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.post(payment_failed("c1", "platform_error", at(minutes=0)))
    await shop.advance(minutes=1)
    assert calls == []
    await shop.advance(minutes=1)
    assert calls == [{"checkout_id": "k1", "contact_id": "c1", "reason": "platform_error"}]
    await shop.advance(days=2)
    out = await shop.outbox("c1")
    assert len(out) == 1 and "всё прошло" in out[0]["text"]


async def test_a_retry_success_template_with_a_promotion_names_the_promotion(
    aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    """The success template is rendered like a first touch: its {promotion} is the shop's
    promotion this checkout matches, not a fallback to the step's own (failure) text."""
    root = tmp_path / "designer"
    shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    flow = root / "flows" / "recovery" / "payment_platform.yml"
    text = flow.read_text()
    assert "on_success: touch_payment_fixed" in text
    flow.write_text(text.replace("touch_payment_fixed", "touch_abandoned_3_incentive"))
    client, calls = await _retry_client(
        aiohttp_client, aiohttp_server, tmp_path, db_url, clock, True, root
    )
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.post(payment_failed("c1", "platform_error", at(minutes=0)))
    await shop.advance(minutes=2)
    out = await shop.outbox("c1")
    assert len(calls) == 1 and len(out) == 1
    assert "скидка 5% на заказ от 5000 ₽" in out[0]["text"] and "сбой" not in out[0]["text"]


async def test_platform_error_retry_fails_reminds(
    aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    client, calls = await _retry_client(
        aiohttp_client, aiohttp_server, tmp_path, db_url, clock, False
    )
    shop = Shop(client)
    await shop.start("c1", stage="payment")
    await shop.post(payment_failed("c1", "platform_error", at(minutes=0)))
    await shop.advance(days=2)
    out = await shop.outbox("c1")
    assert len(calls) == 1
    assert [o["touch"]["step"] for o in out] == ["retry", "reminder_2"]
    assert "сбой" in out[0]["text"]


async def test_order_status_goes_to_last_written_channel_and_review(client: Any) -> None:
    """R-FL3: status → template on the channel the customer last wrote from; review after."""
    shop = Shop(client)
    from tests.factory import consent

    await shop.start("c1", channel="sms")
    await shop.post(consent("c1", "whatsapp"))
    await shop.post(
        event("order.paid", "c1", at(minutes=5), checkout={"id": "k1"}, order={"id": "A-77"})
    )
    async with client.app[SESSIONS].begin() as session:
        from bot.store.models import Contact

        contact = await session.scalar(select(Contact))
        assert contact is not None
        session.add(
            Conversation(
                contact_id=contact.id,
                state="bot",
                misunderstood=0,
                last_channel="sms",
                updated_at=at(minutes=5),
            )
        )
    await shop.post(
        event(
            "order.status_changed", "c1", at(minutes=6), order={"id": "A-77", "status": "shipped"}
        )
    )
    await shop.post(
        event(
            "order.status_changed", "c1", at(minutes=7), order={"id": "A-77", "status": "mystery"}
        )
    )
    await shop.advance(hours=1)
    out = await shop.outbox("c1")
    assert [(o["channel"], o["touch"]["step"]) for o in out] == [("sms", "status:shipped")]
    assert "A-77" in out[0]["text"]
    await shop.post(
        event(
            "order.status_changed", "c1", at(hours=1), order={"id": "A-77", "status": "delivered"}
        )
    )
    await shop.advance(days=2)
    steps = [o["touch"]["step"] for o in await shop.outbox("c1")]
    assert steps == ["status:shipped", "status:delivered", "review:delivered"]
    assert "https://shop.example/orders/A-77/review" in (await shop.outbox("c1"))[-1]["text"]


def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    return root


def test_shipped_flows_are_valid() -> None:
    flows, problems = load_flow_set(PROJECT_ROOT)
    assert problems == []
    assert {"abandoned_checkout", "payment_card", "order_status"} <= set(flows.flows)


def test_problems_name_file_and_line(tmp_path: Path) -> None:
    root = _copy_root(tmp_path)
    path = root / "flows" / "recovery" / "abandoned_checkout.yml"
    text = path.read_text().replace("    delay: 6h\n", "    delay: 6 hours\n")
    text = text.replace(
        'quick_replies: {"1": resume, resume: resume}', 'quick_replies: {"1": fly}', 1
    )
    path.write_text(text)
    problems = load_flow_set(root)[1]
    lines = {p.split(": ", 1)[0] for p in problems}
    assert f"{path}:28" in lines  # touch_2, the step with the bad delay
    assert any("unknown action 'fly'" in p for p in problems)


def test_hot_reload_refuses_a_broken_set(tmp_path: Path) -> None:
    """R-DS1: a broken change is refused and the old set kept; a good one is taken."""
    root = _copy_root(tmp_path)
    holder = DesignerFiles(root)
    assert holder.load()
    before = holder.current
    path = root / "flows" / "recovery" / "payment_risk.yml"
    good = path.read_text()
    path.write_text(good.replace("delay: 5m", "delay: soon"))
    import os

    os.utime(path, (1, 1))
    assert holder.check() is False and holder.current is before and holder.problems
    path.write_text(good.replace("delay: 5m", "delay: 10m"))
    assert holder.check() is True and holder.current is not before
    step = holder.current.flows["payment_risk"].steps[0]
    assert step.delay.total_seconds() == 600  # type: ignore[union-attr]
