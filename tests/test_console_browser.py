"""End to end in real headless Chromium: a chat escalates and appears in the console without a
reload; the operator claims and answers; the shopper receives it through the fake WhatsApp
provider; the operator gives the chat back and the bot answers the next message."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.app import create_app
from bot.app_keys import FAKES
from bot.channels.fakes.whatsapp import shopper_writes, webhook_body
from bot.channels.whatsapp import sign
from bot.clock import SandboxClock
from bot.store.db import make_engine, make_session_factory
from handoff.auth import create_operator
from tests.browser_fixtures import click, text_of, wait
from tests.conftest import AUTH, make_settings
from tests.factory import checkout_updated, consent
from tests.live_server import serve_in_thread

pytestmark = pytest.mark.browser
PASSWORD = "olga-password-1"
WA_ID = "79161234567"


def _whatsapp(
    base: str, secret: str, *, text: str | None = None, button: str | None = None
) -> None:
    """The shopper writes: a signed Cloud API webhook, as Meta would post it."""
    tapped = (button, button) if button is not None else None
    value = shopper_writes(WA_ID, f"wamid.e2e-{time.monotonic_ns()}", text, tapped)
    raw = json.dumps(webhook_body(value, "100000000000001")).encode()
    response = httpx.post(
        f"{base}/webhooks/whatsapp",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)},
    )
    assert response.status_code == 200, response.text


def _queue_empty(driver: WebDriver) -> bool:
    return bool(driver.find_element(By.ID, "queue-empty").is_displayed())


def _shown(driver: WebDriver, selector: str, needle: str) -> bool:
    return any(needle in m.text for m in driver.find_elements(By.CSS_SELECTOR, selector))


def _until(check: Callable[[], Any], what: str, limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def test_operator_takes_over_and_gives_back_in_the_browser(
    tmp_path: Path, db_url: str, chromium: WebDriver
) -> None:
    settings = make_settings(tmp_path, db_url)

    async def prepare() -> None:
        engine = make_engine(db_url)
        await create_operator(
            make_session_factory(engine), "olga", PASSWORD, "operator", SandboxClock().now()
        )
        await engine.dispose()

    asyncio.run(prepare())
    app = create_app(settings, clock=SandboxClock(), run_nlu=False, run_scheduler=False)
    with serve_in_thread(app) as (base, app):
        app[FAKES].target = base
        sent = app[FAKES].whatsapp.sent

        def received(needle: str) -> bool:
            return any(
                needle in json.dumps(item["body"], ensure_ascii=False) and item["to"] == WA_ID
                for item in list(sent)
            )

        events = [consent("c1"), checkout_updated("c1", stage="payment")]
        accepted = httpx.post(f"{base}/api/v1/events", json={"events": events}, headers=AUTH)
        assert accepted.status_code == 202

        driver = chromium
        driver.get(f"{base}/console")
        wait(driver, 20).until(lambda d: "/console/login" in d.current_url)
        driver.find_element(By.ID, "username").send_keys("olga")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()
        wait(driver, 20).until(_queue_empty)
        wait(driver, 20).until(
            lambda d: d.find_element(By.ID, "live").get_attribute("class") == "on"
        )
        driver.execute_script("window.notReloaded = true;")

        # the shopper asks for a person through the real webhook path
        _whatsapp(base, settings.whatsapp_app_secret, text="позовите оператора, пожалуйста")
        queued = text_of(driver, By.CSS_SELECTOR, ".queue-item")
        assert "asked for a person" in queued and "+7***567" in queued
        assert WA_ID not in driver.page_source.replace("+7***567", "")
        assert driver.execute_script("return window.notReloaded === true")
        _until(lambda: received("коллеге"), "the hand-off notice reached the shopper")

        click(driver, By.CSS_SELECTOR, ".queue-item")
        wait(driver, 20).until(lambda d: d.find_element(By.ID, "claim").is_displayed())
        click(driver, By.ID, "claim")
        box = wait(driver, 20).until(
            lambda d: (
                d.find_element(By.ID, "reply-text")
                if d.find_element(By.ID, "reply-form").is_displayed()
                else None
            )
        )
        box.send_keys("Здравствуйте, Анна! Я Ольга, помогу с заказом.")
        click(driver, By.CSS_SELECTOR, "#quick-replies input[value='pay']")
        click(driver, By.ID, "send")
        _until(
            lambda: received("Я Ольга, помогу с заказом"), "the operator's answer reached WhatsApp"
        )
        wait(driver, 20).until(
            lambda d: any(
                "Я Ольга" in m.text for m in d.find_elements(By.CSS_SELECTOR, ".message.out")
            )
        )

        # the shopper answers; the bot stays silent; the operator sees it live
        before = len(sent)
        _whatsapp(base, settings.whatsapp_app_secret, text="спасибо, а где мой промокод?")
        wait(driver, 20).until(
            lambda d: any(
                "промокод" in m.text for m in d.find_elements(By.CSS_SELECTOR, ".message.in")
            )
        )
        assert len(sent) == before

        click(driver, By.ID, "return-bot")
        wait(driver, 20).until(_queue_empty)
        assert driver.execute_script("return window.notReloaded === true")

        # back with the bot: it answers the next message on its own
        _whatsapp(base, settings.whatsapp_app_secret, button="delivery_help")
        _until(lambda: received("курьером"), "the bot answered after the hand-back")
        state = httpx.get(f"{base}/sandbox/conversations/c1").json()
        assert state["state"] == "bot"
