"""Real headless Chromium (Debian's chromium + chromedriver) for the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import IN_CI

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[WebDriver]:
    """A fresh headless browser per test; in CI a missing browser is a failure, not a skip."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are required in CI (make browser)")
        pytest.skip("headless Chromium not installed (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # without these Chromium keeps dialling hosts this closed network refuses
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait[WebDriver]:
    """A wait that retries when live updates replace the element it was reading."""
    return WebDriverWait(
        driver, seconds, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )


def click(driver: WebDriver, by: str, selector: str, seconds: float = 20) -> None:
    """Click an element, finding it again if a live update replaced it meanwhile."""

    def attempt(d: WebDriver) -> bool:
        d.find_element(by, selector).click()
        return True

    wait(driver, seconds).until(attempt)


def text_of(driver: WebDriver, by: str, selector: str, seconds: float = 20) -> str:
    """The text of the first matching element, read without racing live updates."""
    return str(wait(driver, seconds).until(lambda d: d.find_element(by, selector).text or None))
