"""Texts promise only what the shop declares in flows/shop.yml (R-PZ1, R-FL2)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.settings import PROJECT_ROOT, load_settings
from bot.touches.retry_hook import retry_url
from flows.loader import validate_flows
from flows.replies import Shop as ShopSettings
from tests.conftest import make_settings
from tests.factory import at, event
from tests.touches_fixtures import Shop


async def test_incentive_without_a_matching_promotion_is_the_neutral_text(client: Any) -> None:
    """A cart matches no promotion of shop.yml: touch 3 promises nothing, in any variant."""
    shop = Shop(client)
    for n in range(8):
        await shop.start(f"c{n}", phone=f"+791600000{n:02d}", stage="cart")
    await shop.advance(days=3)
    variants = set()
    for n in range(8):
        last = (await shop.outbox(f"c{n}"))[-1]
        variants.add(last["touch"]["variant"])
        assert last["touch"]["step"] == "touch_3"
        assert "за наш счёт" not in last["text"] and "скидк" not in last["text"]
        assert "Больше писать об этом заказе не будем" in last["text"]
    assert "incentive" in variants


def _root(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def test_shipped_texts_promise_only_declared_things() -> None:
    assert validate_flows(PROJECT_ROOT) == []


def test_validate_names_an_undeclared_payment_method_and_free_delivery(tmp_path: Path) -> None:
    root = _root(tmp_path)
    domain = root / "domain.yml"
    text = domain.read_text(encoding="utf-8")
    text = text.replace("inna karta, przelew SBP,", "inna karta, BLIK,", 1)
    text = text.replace("Если оформите сейчас — {promotion}:", "Бесплатная доставка:", 1)
    domain.write_text(text, encoding="utf-8")
    problems = validate_flows(root)
    blik = [p for p in problems if "'blik'" in p]
    free = [p for p in problems if "free delivery" in p]
    assert len(blik) == 1 and blik[0].startswith(f"{domain}:")
    line = int(blik[0].split(":")[1])
    assert "BLIK" in domain.read_text(encoding="utf-8").splitlines()[line - 1]
    assert len(free) == 1 and "touch_abandoned_3_incentive (ru)" in free[0]


async def _shop_client(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any, review_link: str
) -> Any:
    root = _root(tmp_path)
    shop_file = root / "flows" / "shop.yml"
    text = shop_file.read_text(encoding="utf-8")
    text = text.replace('review_link: "https://shop.example/orders/{order_id}/review"', review_link)
    shop_file.write_text(text, encoding="utf-8")
    settings = replace(make_settings(tmp_path, db_url), root=root)
    return await aiohttp_client(
        create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    )


async def _delivered(shop: Shop) -> list[str]:
    await shop.start("c1")
    await shop.post(
        event(
            "order.status_changed", "c1", at(minutes=1), order={"id": "A-9", "status": "delivered"}
        )
    )
    await shop.advance(days=2)
    return [o["text"] for o in await shop.outbox("c1") if o["touch"]["flow"] == "order_status"]


async def test_review_link_and_order_id_come_from_shop_settings_and_the_event(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    """The order id is the event's (no checkout is linked); the review page is shop.yml's."""
    link = 'review_link: "https://reviews.example.org/r?order={order_id}"'
    client = await _shop_client(aiohttp_client, tmp_path, db_url, clock, link)
    texts = await _delivered(Shop(client))
    assert len(texts) == 2 and "A-9" in texts[0]
    assert "https://reviews.example.org/r?order=A-9" in texts[1]


async def test_no_review_link_no_review_request(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    client = await _shop_client(aiohttp_client, tmp_path, db_url, clock, "")
    texts = await _delivered(Shop(client))
    assert len(texts) == 1 and "A-9" in texts[0]


def test_retry_hook_address_is_the_shops() -> None:
    """NUDGE_SHOP_RETRY_URL, else shop.yml; the sandbox's own fake; live mode: none."""
    settings = load_settings(root=PROJECT_ROOT)
    declared = ShopSettings(retry_hook_url="https://shop.example/api/retry")
    live = replace(settings, sandbox=False, shop_retry_url="")
    assert retry_url(ShopSettings(), live) is None
    assert retry_url(declared, live) == "https://shop.example/api/retry"
    override = replace(live, shop_retry_url="https://pay.example/retry")
    assert retry_url(declared, override) == "https://pay.example/retry"
    sandbox = replace(settings, sandbox=True, shop_retry_url="")
    assert retry_url(ShopSettings(), sandbox) == f"{settings.public_url}/sandbox/shop/retry"
