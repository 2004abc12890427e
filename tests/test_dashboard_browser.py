"""The dashboard in real headless Chromium: log in as admin, charts drawn from the report API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.app import create_app
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.db import make_engine, make_session_factory
from handoff.auth import create_operator
from tests.browser_fixtures import wait
from tests.live_server import serve_in_thread
from tests.reports_fixtures import T0, seed
from tests.test_reports_recovery import scenario

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct horse battery"


async def _prepare(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    await seed(sessions, scenario())
    await create_operator(sessions, "boss", PASSWORD, "admin", T0)
    await create_operator(sessions, "olga", PASSWORD, "operator", T0)
    await engine.dispose()


def _log_in(driver: WebDriver, base: str, username: str) -> None:
    driver.get(f"{base}/console/dashboard")
    wait(driver, 20).until(lambda d: "/console/login" in d.current_url)
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    wait(driver, 20).until(lambda d: "/console/login" not in d.current_url)


def _number(value: str | None) -> float:
    assert value not in (None, ""), "a chart element carries no data"
    return float(value or 0)


def test_dashboard_draws_charts_for_admin(
    chromium: WebDriver, settings: Settings, clock: SandboxClock
) -> None:
    asyncio.run(_prepare(settings))
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    with serve_in_thread(app) as (base, _):
        _log_in(chromium, base, "boss")
        chromium.get(f"{base}/console/dashboard?from=2026-02-01&to=2026-03-31")
        wait(chromium, 30).until(
            lambda d: (
                d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                in ("ready", "error")
            )
        )
        status = chromium.find_element(By.ID, "status").text
        assert chromium.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready", (
            status
        )

        bars = chromium.find_elements(By.CSS_SELECTOR, "#chart-recovery svg rect.bar")
        labels = [(b.get_attribute("data-step"), b.get_attribute("data-variant")) for b in bars]
        assert labels == [
            ("reminder", "A"),
            ("reminder", "B"),
            ("reminder", "C"),
            ("first", ""),
            ("second", ""),
        ]
        values = [_number(b.get_attribute("data-value")) for b in bars]
        assert values[:3] == [0.5, 0.125, 0.4]
        assert all(float(b.get_attribute("width") or 0) > 0 for b in bars)
        worse = chromium.find_elements(By.CSS_SELECTOR, "#chart-recovery rect.bar.worse")
        assert [w.get_attribute("data-variant") for w in worse] == ["B"]
        whiskers = chromium.find_elements(By.CSS_SELECTOR, "#chart-recovery line.whisker[data-low]")
        assert len(whiskers) == 5

        funnel = chromium.find_elements(By.CSS_SELECTOR, "#chart-funnel rect.funnel-bar")
        stages = {
            f.get_attribute("data-stage"): _number(f.get_attribute("data-value")) for f in funnel
        }
        assert stages == {"sent": 126, "delivered": 116, "read": 10, "replied": 9, "recovered": 44}

        lines = chromium.find_elements(By.CSS_SELECTOR, "#chart-rates svg path.line")
        assert {line.get_attribute("data-series") for line in lines} == {
            "opt_out_rate",
            "handoff_rate",
        }
        assert all(_number(line.get_attribute("data-points")) == 2 for line in lines)
        assert all((line.get_attribute("d") or "").startswith("M") for line in lines)

        flagged = chromium.find_elements(By.CSS_SELECTOR, "#ab tr.worse")
        assert len(flagged) == 1 and "B" in flagged[0].text
        ARTIFACTS.mkdir(exist_ok=True)
        name = "postgres" if settings.is_postgres else "sqlite"
        assert chromium.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))


def test_dashboard_refuses_operator_in_browser(
    chromium: WebDriver, settings: Settings, clock: SandboxClock
) -> None:
    asyncio.run(_prepare(settings))
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    with serve_in_thread(app) as (base, _):
        _log_in(chromium, base, "olga")
        chromium.get(f"{base}/console/dashboard")
        assert "admins only" in chromium.find_element(By.TAG_NAME, "body").text
        assert not chromium.find_elements(By.CSS_SELECTOR, "#chart-recovery")


def test_dashboard_default_period_ends_at_the_service_clock(
    chromium: WebDriver, settings: Settings, clock: SandboxClock
) -> None:
    """The sandbox clock (2026-03-02) is months from the browser's date: the default period
    must still hold the touches simulated up to the service's now."""
    asyncio.run(_prepare(settings))
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    with serve_in_thread(app) as (base, _):
        _log_in(chromium, base, "boss")
        chromium.get(f"{base}/console/dashboard")
        wait(chromium, 30).until(
            lambda d: (
                d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                in ("ready", "error")
            )
        )
        assert chromium.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready"
        now = clock.now()
        assert chromium.find_element(By.ID, "to").get_attribute("value") == f"{now:%Y-%m-%d}"
        funnel = chromium.find_elements(By.CSS_SELECTOR, "#chart-funnel rect.funnel-bar")
        stages = {
            f.get_attribute("data-stage"): _number(f.get_attribute("data-value")) for f in funnel
        }
        assert stages.get("sent", 0) > 0
