"""`nudge shopify connect` (R-IN2) against a fake Shopify Admin GraphQL API on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.integrations.fakes.shopify_admin import FakeShopifyAdmin
from tests.live_server import serve_in_thread

TOKEN = "shpat_test_admin_token"
CALLBACK = "https://nudge.example/integrations/shopify/webhooks"


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> object:
    fake = FakeShopifyAdmin(TOKEN, page_size=3)
    with serve_in_thread(fake.app()) as (url, _):
        monkeypatch.setenv("NUDGE_SHOPIFY_API_URL", url)
        monkeypatch.setenv("NUDGE_SHOPIFY_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("NUDGE_PUBLIC_URL", "https://nudge.example")
        monkeypatch.setenv("NUDGE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/n.db")
        yield fake


def test_connect_subscribes_missing_topics_once(
    admin: FakeShopifyAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.add("PRODUCTS_UPDATE", "https://other.example/hook")  # another app's: left alone
    admin.add("ORDERS_PAID", CALLBACK)  # already there: not created again
    assert main(["shopify", "connect", "--shop", "nudge-demo.myshopify.com"]) == 0
    ours = sorted(
        s["topic"] for s in admin.subscriptions if s["endpoint"]["callbackUrl"] == CALLBACK
    )
    assert ours == sorted(
        ["CHECKOUTS_CREATE", "CHECKOUTS_UPDATE", "ORDERS_CREATE", "ORDERS_PAID",
         "ORDERS_FULFILLED", "ORDERS_CANCELLED", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE",
         "CUSTOMERS_UPDATE"]
    )  # fmt: skip
    assert admin.creates == 8 and "already subscribed ORDERS_PAID" in capsys.readouterr().out
    assert main(["shopify", "connect", "--shop", "nudge-demo.myshopify.com"]) == 0
    assert admin.creates == 8 and len(admin.subscriptions) == 10  # the second run: nothing new


def test_connect_refuses_a_wrong_token_and_a_bad_shop(
    admin: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUDGE_SHOPIFY_ACCESS_TOKEN", "shpat_wrong")
    assert main(["shopify", "connect", "--shop", "nudge-demo.myshopify.com"]) == 1
    assert "NUDGE_SHOPIFY_ACCESS_TOKEN (401)" in capsys.readouterr().err
    assert main(["shopify", "connect", "--shop", "https://evil.example"]) == 2
    assert "NAME.myshopify.com" in capsys.readouterr().err
    assert admin.subscriptions == []
