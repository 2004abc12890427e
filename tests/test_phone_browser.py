"""The sandbox phone in real headless Chromium: messages arrive live, a reply and a button tap
go back through the fake provider's signed webhook, statuses update in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import CLOCK, FAKES, INBOUND_HANDLER, OUTBOUND, SESSIONS
from bot.channels.base import Button, InboundMessage, OutboundMessage
from bot.dialogue.storing import received_row
from bot.store.models import Contact
from tests.browser_fixtures import click, wait
from tests.conftest import API_KEY
from tests.factory import consent
from tests.live_server import serve_in_thread

pytestmark = pytest.mark.browser
PHONE = "+79161230000"


def echo_bot(app: Any) -> Any:
    """Stands in for the dialogue: stores the shopper's message, answers with two buttons."""

    async def handle(item: InboundMessage) -> None:
        async with app[SESSIONS].begin() as session:
            contact = (
                await session.scalars(select(Contact).where(Contact.phone == item.address))
            ).one()
            text = item.text or f"[{item.button_payload}]"
            session.add(received_row(item, contact.id, text, app[CLOCK].now()))
        said = item.button_payload or item.text
        buttons = (Button("yes", "Да"), Button("no", "Нет"))
        await app[OUTBOUND].send(contact, "whatsapp", OutboundMessage(f"echo: {said}", buttons))

    return handle


def _texts(driver: WebDriver, direction: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, f".msg.{direction} .text")]


def test_phone_shows_messages_live_and_replies(
    chromium: WebDriver, sqlite_template: Path, tmp_path: Path
) -> None:
    # the browser path is the same on both databases: run it once, on SQLite
    import shutil

    from tests.conftest import make_settings

    db_url = f"sqlite+aiosqlite:///{shutil.copy(sqlite_template, tmp_path / 'phone.db')}"

    settings = make_settings(tmp_path, db_url)
    app = create_app(settings, run_nlu=False, run_scheduler=False)
    app[INBOUND_HANDLER] = echo_bot(app)
    with serve_in_thread(app) as (base, _):
        app[FAKES].target = base
        event = consent(
            "shopper-1", event_id="phone-consent-1", phone=PHONE, language=None, timezone=None
        )
        auth = {"Authorization": f"Bearer {API_KEY}"}
        assert httpx.post(f"{base}/api/v1/events", json=event, headers=auth).status_code == 202
        contacts = httpx.get(f"{base}/sandbox/phone/contacts").json()
        contact_id = next(c["id"] for c in contacts if c["phone"] == PHONE)

        chromium.get(f"{base}/sandbox/phone")
        waiting = wait(chromium, 20)
        waiting.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f"#contact option[value='{contact_id}']")
        )
        chromium.find_element(By.CSS_SELECTOR, f"#contact option[value='{contact_id}']").click()
        chromium.find_element(By.ID, "text").send_keys("Когда доставка?")
        chromium.find_element(By.ID, "send").click()
        waiting.until(lambda d: "Когда доставка?" in _texts(d, "in"))
        waiting.until(lambda d: "echo: Когда доставка?" in _texts(d, "out"))
        # the fake's signed status webhooks move the message to "read" without a reload
        waiting.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.out[data-status='read']"))
        titles = waiting.until(
            lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, ".msg.out .btn")][:2]
        )
        assert titles == ["Да", "Нет"]
        click(chromium, By.CSS_SELECTOR, ".msg.out .btn")
        waiting.until(lambda d: "echo: yes" in _texts(d, "out"))
        assert "[yes]" in _texts(chromium, "in")
        assert chromium.find_element(By.ID, "status").text == ""
