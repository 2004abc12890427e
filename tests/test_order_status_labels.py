"""Where is my order (R-RP6, issue 17): the shop's status code reaches the shopper as a label
in their language (domain.yml `utter_order_status_<status>`); a shop's own status as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.integrations.shopify import SHIPMENT_STATUSES
from flows.replies import load_reply_book
from flows.status_labels import check_status_labels, label_name, status_key, status_label
from flows.templates import LANGUAGES, Templates, TemplateVariant, load_templates
from tests.dialogue_fixtures import post_events, say, shopper, texts
from tests.factory import order_paid, order_status

Client = TestClient[Any, Any]
ROOT = Path(__file__).resolve().parent.parent
COMMON = ("new", "paid", "processing", "returned")
TRACK = "https://track.example/RU123"


async def _status(client: Client, status: str, **order: Any) -> None:
    await post_events(client, order_paid(), order_status(status=status, **order))


@pytest.mark.parametrize(
    ("language", "question", "label"),
    [
        ("ru", "где мой заказ?", "Статус вашего заказа: передан в доставку."),
        ("pl", "Gdzie moje zamówienie?", "Status Twojego zamówienia: w drodze."),
        ("zh", "我的订单在哪", "您的订单状态：已发货。"),
        ("en", "where is my order?", "Your order's status: on its way."),
    ],
)
async def test_the_shopper_reads_the_status_in_their_language(
    client: Client, language: str, question: str, label: str
) -> None:
    await shopper(client, language=language)
    await _status(client, "shipped", tracking_url=TRACK)
    result = await say(client, question)
    assert result["handled_by"] == "bot"
    assert label in texts(result) and TRACK in texts(result)
    assert "shipped" not in texts(result)


async def test_a_status_written_loosely_still_finds_its_label(client: Client) -> None:
    await shopper(client, language="pl")
    await _status(client, " Handed-To-Courier ")
    result = await say(client, "/status")
    assert "Status Twojego zamówienia: u kuriera." in texts(result)
    assert "courier" not in texts(result).lower()


async def test_a_shops_own_status_is_shown_as_it_is(client: Client) -> None:
    await shopper(client)
    await _status(client, "awaiting_stock_MSK")
    result = await say(client, "где мой заказ?")
    assert result["handled_by"] == "bot"
    assert "Статус вашего заказа: awaiting_stock_MSK." in texts(result)


async def test_late_still_goes_to_an_operator(client: Client) -> None:
    await shopper(client, language="zh")
    await _status(client, "shipped")
    result = await say(client, "我的订单还没到，等了两周")
    assert result["handled_by"] == "operator"


def _statuses_the_shop_sends() -> set[str]:
    flow = yaml.safe_load((ROOT / "flows/recovery/order_status.yml").read_text("utf-8"))
    shop = yaml.safe_load((ROOT / "flows/shop.yml").read_text("utf-8"))
    return {
        *flow["steps"][0]["template"],
        *shop["retailcrm"]["statuses"].values(),
        *SHIPMENT_STATUSES.values(),
        "shipped",
        "cancelled",  # shopify.py's orders/fulfilled and orders/cancelled
        *COMMON,
    }


def test_every_status_the_shop_sends_has_a_label_in_every_language() -> None:
    templates, problems = load_templates(ROOT / "domain.yml")
    assert problems == []
    for status in sorted(_statuses_the_shop_sends()):
        variants = templates.by_name.get(label_name(status))
        assert variants is not None, status
        assert set(variants) == set(LANGUAGES), status
    assert check_status_labels(templates) == []


def test_status_keys_are_case_and_space_tolerant() -> None:
    assert status_key("Shipped ") == "shipped"
    assert status_key("handed-to-courier") == "handed_to_courier"
    assert status_key(" Ready for  pickup") == "ready_for_pickup"
    templates, _ = load_templates(ROOT / "domain.yml")
    assert status_label(templates, "DELIVERED", "ru", "ru") == "доставлен"
    assert status_label(templates, "delivered", "de", "en") == "delivered"
    assert status_label(templates, "  мой статус ", "ru", "ru") == "мой статус"
    assert status_label(templates, "", "ru", "ru") == ""


def test_a_label_without_every_language_or_with_a_placeholder_is_reported() -> None:
    templates = Templates(source=Path("domain.yml"))
    templates.by_name["utter_order_status_lost_in_space"] = {
        "ru": TemplateVariant("ru", "потерян {где}", line=7),
        "en": TemplateVariant("en", "lost", line=8),
    }
    problems = check_status_labels(templates)
    assert any("no pl, zh variant" in p for p in problems), problems
    assert any("domain.yml:7:" in p and "placeholder" in p for p in problems), problems


def test_the_shipped_files_validate() -> None:
    book, problems = load_reply_book(ROOT)
    assert problems == [] and book is not None
