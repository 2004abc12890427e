"""Texts promise only what the shop declares in flows/shop.yml (R-PZ1, R-FL2)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT
from flows.loader import validate_flows
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
