"""One holder of the designer files: one edit is read once and serves the firing side and
the dialogue; a broken edit keeps the last good version on both (R-DS1)."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.app_keys import FLOWS
from bot.settings import PROJECT_ROOT
from flows.designer import DesignerFiles
from tests.conftest import make_settings
from tests.dialogue_fixtures import say, shopper, texts
from tests.touches_fixtures import Shop

TOUCH_TEXT = "ждёт оплаты. Помочь завершить?"
REPLY_TEXT = "оплатить можно: {methods}."
EDITED = "(правка дизайнера)"


def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    return root


def _write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stamp, stamp))  # a distinct mtime, whatever the file system's resolution


def _loads(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.name == "flows.designer" and "flows loaded" in r.message for r in caplog.records)


async def test_one_edit_serves_firing_and_dialogue_and_a_broken_one_keeps_the_last_good(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    root = _copy_root(tmp_path)
    settings = replace(make_settings(tmp_path, db_url), root=root)
    client = await aiohttp_client(
        create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    )
    designer_files = client.app[FLOWS]
    await shopper(client, "c1", phone="+79161234567")
    await shopper(client, "c2", phone="+79161234568", kid="k2")

    domain = root / "domain.yml"
    original = domain.read_text(encoding="utf-8")
    assert TOUCH_TEXT in original and REPLY_TEXT in original
    edited = original.replace(TOUCH_TEXT, f"ждёт оплаты {EDITED}. Помочь завершить?", 1)
    edited = edited.replace(REPLY_TEXT, f"оплатить можно {EDITED}: {{methods}}.", 1)
    caplog.set_level(logging.INFO, logger="flows.designer")
    caplog.clear()  # count the loads of the edit only, whatever level an earlier test left
    _write(domain, edited, 1_000_000)

    shop = Shop(client)
    await shop.advance(hours=1)  # the scheduler's look at the files, then touch 1 fires
    for cid in ("c1", "c2"):
        [touch] = await shop.outbox(cid)
        assert EDITED in touch["text"]
    assert EDITED in texts(await say(client, button="payment_help", phone="+79161234567"))
    assert _loads(caplog) == 1  # the dialogue found the holder already up to date
    good = designer_files.current
    assert good.templates is designer_files.reply_book().templates

    _write(domain, edited + "\nresponses: [unclosed\n", 2_000_000)
    await shop.advance(hours=8)  # touch 2 of c2 fires with the last good set
    assert [t["touch"]["step"] for t in await shop.outbox("c2")] == ["touch_1", "touch_2"]
    assert EDITED in texts(await say(client, button="payment_help", phone="+79161234567"))
    assert designer_files.current is good and _loads(caplog) == 1
    assert designer_files.templates() is good.templates  # the Telegram link answers' texts
    assert any("domain.yml" in p for p in designer_files.problems)


def test_a_shop_edit_reaches_both_parts_and_a_broken_one_keeps_both(tmp_path: Path) -> None:
    root = _copy_root(tmp_path)
    designer_files = DesignerFiles(root)
    assert designer_files.load()
    shop = root / "flows" / "shop.yml"
    original = shop.read_text(encoding="utf-8")
    _write(shop, original.replace('min_total: "5000"', 'min_total: "100"'), 1_000_000)

    assert designer_files.check() is True
    book = designer_files.reply_book()
    flow_set = designer_files.current
    assert book.shop.promotions[0].min_total == 100
    assert flow_set.shop is book.shop and flow_set.templates is book.templates

    _write(shop, original.replace('min_total: "5000"', 'min_total: "lots"'), 2_000_000)
    assert designer_files.check() is False
    assert designer_files.reply_book() is book
    assert designer_files.current.shop is book.shop  # the flow set keeps the last good shop
    assert designer_files.shop() is book.shop  # so do the report prices and the retailCRM map
    assert any("shop.yml" in p and "min_total" in p for p in designer_files.problems)
    assert designer_files.check() is False  # nothing changed since: no second read
