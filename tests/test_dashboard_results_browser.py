"""The dashboard's results in real headless Chromium: lift over the holdout with its interval,
order value and cost, CSAT over time and per operator, equal to the report API's numbers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from bot.app import create_app
from bot.clock import SandboxClock
from bot.reports.stats import Interval, newcombe, wilson
from bot.settings import Settings
from bot.store.db import make_engine, make_session_factory
from bot.store.models import Rating
from flows.designer import DesignerFiles
from handoff.auth import create_operator
from tests.browser_fixtures import wait
from tests.factory import contact_row
from tests.live_server import serve_in_thread
from tests.reports_fixtures import T0, ChainSpec, at, seed
from tests.test_reports_lift import lift_scenario

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct horse battery"
PERIOD = "from=2026-03-01&to=2026-03-02&shop=default"
HELD_OUT_ORDER = Decimal("2500.00")  # held-out orders are dearer: AOV of all ≠ recovered
# (day offset in hours after T0, who helped, operator, score)
RATINGS = [
    (2, "operator", "olga", 5),
    (2, "operator", "olga", 4),
    (3, "operator", "olga", 2),
    (4, "bot", None, 5),
    (22, "operator", "ivan", 3),
    (22, "operator", "ivan", 5),
]


def scenario() -> list[ChainSpec]:
    specs = lift_scenario()
    for spec in specs:
        if spec.holdout:
            spec.total = HELD_OUT_ORDER
    return specs


async def _prepare(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    await seed(sessions, scenario())
    await create_operator(sessions, "boss", PASSWORD, "admin", T0)
    operators = {
        name: await create_operator(sessions, name, PASSWORD, "operator", T0)
        for name in ("olga", "ivan")
    }
    async with sessions.begin() as session:
        contact = contact_row(
            "rater", phone="+79160000001", first_name=None, created_at=T0, updated_at=T0
        )
        session.add(contact)
        await session.flush()
        for n, (hour, who, operator, score) in enumerate(RATINGS):
            session.add(
                Rating(
                    contact_id=contact.id,
                    conversation_id=1000 + n,
                    episode="closed",
                    by=who,
                    operator_id=operators[operator] if operator else None,
                    score=score,
                    asked_at=at(hour - 0.5),
                    answered_at=at(hour),
                )
            )
    await engine.dispose()


def _log_in(driver: WebDriver, base: str) -> None:
    driver.get(f"{base}/console/dashboard")
    wait(driver, 20).until(lambda d: "/console/login" in d.current_url)
    driver.find_element(By.ID, "username").send_keys("boss")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    wait(driver, 20).until(lambda d: "/console/login" not in d.current_url)


def _api(driver: WebDriver, name: str) -> dict[str, Any]:
    """The console's JSON, fetched in the page with the admin's session."""
    body: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/console/api/reports/{name}?{PERIOD}').then((r) => r.json()).then(done);"
    )
    return body


def _float(element: WebElement, name: str) -> float:
    value = element.get_attribute(name)
    assert value not in (None, ""), f"{name} missing on a chart element"
    return float(value or 0)


def _lift_elements(driver: WebDriver, flow: str, scope: str, variant: str) -> list[WebElement]:
    where = f'[data-flow="{flow}"][data-scope="{scope}"][data-variant="{variant}"]'
    return [
        driver.find_element(By.CSS_SELECTOR, f"#chart-lift circle.lift-point{where}"),
        driver.find_element(By.CSS_SELECTOR, f"#chart-lift line.lift-whisker{where}"),
        driver.find_element(By.CSS_SELECTOR, f"#lift tr{where}"),
    ]


def _check_lift(
    driver: WebDriver, flow: str, scope: str, variant: str, expected: Interval, verdict: str
) -> WebElement:
    point, whisker, row = _lift_elements(driver, flow, scope, variant)
    assert _float(point, "data-value") == pytest.approx(expected.value, abs=1e-12)
    assert _float(whisker, "data-low") == pytest.approx(expected.low, abs=1e-12)
    assert _float(whisker, "data-high") == pytest.approx(expected.high, abs=1e-12)
    assert point.get_attribute("data-verdict") == whisker.get_attribute("data-verdict") == verdict
    # the point sits inside its whisker, on the scale the zero line is drawn on
    x1, x2, cx = _float(whisker, "x1"), _float(whisker, "x2"), _float(point, "cx")
    assert x1 < cx < x2
    zero = _float(driver.find_element(By.CSS_SELECTOR, "#chart-lift line.zero"), "x1")
    assert expected.low is not None and (x1 > zero) == (expected.low > 0)
    return row


def test_dashboard_shows_lift_order_value_cost_and_csat(
    chromium: WebDriver, settings: Settings, clock: SandboxClock
) -> None:
    asyncio.run(_prepare(settings))
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    with serve_in_thread(app) as (base, _):
        _log_in(chromium, base)
        chromium.get(f"{base}/console/dashboard?{PERIOD}")
        wait(chromium, 30).until(
            lambda d: (
                d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                in ("ready", "error")
            )
        )
        body = chromium.find_element(By.TAG_NAME, "body")
        assert body.get_attribute("data-state") == "ready", chromium.find_element(
            By.ID, "status"
        ).text
        report, series = _api(chromium, "recovery"), _api(chromium, "timeseries")
        flows = {f["flow"]: f for f in report["flows"]}

        # lift: exact Newcombe intervals of the known outcome, as the API gives them
        cart = _check_lift(chromium, "cart", "overall", "", newcombe(50, 200, 10, 101), "lift")
        assert "Messages recovered more orders than no messages" in cart.text
        assert cart.text.count(flows["cart"]["holdout"]["overall"]["summary"]) == 1
        _check_lift(chromium, "cart", "variant", "A", newcombe(30, 100, 10, 101), "lift")
        b = newcombe(20, 100, 10, 101)
        b_verdict = "lift" if (b.low or 0) > 0 else "no_clear_difference"
        _check_lift(chromium, "cart", "variant", "B", b, b_verdict)
        small = _check_lift(chromium, "payment", "overall", "", newcombe(5, 12, 1, 3), "too_small")
        assert "Too small to tell: 12 messaged and 3 held-out chains" in small.text
        words = [w.text for w in chromium.find_elements(By.CSS_SELECTOR, "#chart-lift text")]
        assert "too small to tell" in words
        [revenue] = flows["cart"]["holdout"]["overall"]["incremental_revenue"]
        shown = f"{Decimal(revenue['amount']):,} RUB"
        assert shown in cart.find_element(By.CSS_SELECTOR, "td.revenue").text

        # order value: recovered orders (all 1000.00) beside every order paid in the period,
        # 55 messaged and 11 held out (the late payment falls after the period)
        all_orders = (55 * Decimal(1000) + 11 * HELD_OUT_ORDER) / 66
        assert report["average_order"] == [
            {"currency": "RUB", "average": f"{all_orders:.2f}", "orders": 66}
        ]
        bars = chromium.find_elements(By.CSS_SELECTOR, "#chart-aov rect.aov-bar")
        values = {(b.get_attribute("data-flow"), b.get_attribute("data-value")) for b in bars}
        assert values == {("", f"{all_orders:.2f}"), ("cart", "1000.00"), ("payment", "1000.00")}

        # cost: 200 and 12 WhatsApp touches to Russian numbers at the shop's price
        price = DesignerFiles(settings.root).shop().prices.price("whatsapp", "RU")
        assert price is not None
        for flow, sent, recovered in (("cart", 200, 50), ("payment", 12, 5)):
            row = chromium.find_element(By.CSS_SELECTOR, f'#economics tr[data-flow="{flow}"]')

            def field(name: str, row: WebElement = row) -> WebElement:
                return row.find_element(By.CSS_SELECTOR, f'td[data-field="{name}"]')

            assert _float(field("messages-per-order"), "data-value") == sent / recovered
            assert Decimal(field("cost").get_attribute("data-value") or "") == price * sent
            per_order = (price * sent / recovered).quantize(Decimal("0.01"))
            assert Decimal(field("cost-per-order").get_attribute("data-value") or "") == per_order
            assert field("cost-per-order").get_attribute("data-value") == str(
                flows[flow]["cost"]["per_recovered_order"]
            )
            assert field("aov-all").text == f"{all_orders:,.2f} RUB"

        # CSAT per day: 3 of 4 answers on March 1st were 4 or 5, 1 of 2 on March 2nd
        line = chromium.find_element(By.CSS_SELECTOR, "#chart-csat path.line.csat")
        assert line.get_attribute("data-points") == "2"
        dots = chromium.find_elements(By.CSS_SELECTOR, "#chart-csat circle.point.csat")
        got = [
            (d.get_attribute("data-day"), _float(d, "data-value"), d.get_attribute("data-rated"))
            for d in dots
        ]
        assert got == [("2026-03-01", 0.75, "4"), ("2026-03-02", 0.5, "2")]
        assert [(d["rated"], d["csat"]) for d in series["days"]] == [(4, 0.75), (2, 0.5)]
        assert _float(dots[0], "cy") < _float(dots[1], "cy")

        # CSAT per operator and for the bot, with the distribution of scores
        rows = chromium.find_elements(By.CSS_SELECTOR, "#csat tbody tr")
        table = {
            (r.get_attribute("data-who"), r.get_attribute("data-operator")): (
                r.find_element(By.CSS_SELECTOR, 'td[data-field="rated"]').text,
                _float(r.find_element(By.CSS_SELECTOR, 'td[data-field="csat"]'), "data-value"),
                [r.find_element(By.CSS_SELECTOR, f'td[data-score="{s}"]').text for s in "12345"],
            )
            for r in rows
        }
        assert table == {
            ("all", ""): ("6", wilson(4, 6).value, ["0", "1", "1", "1", "3"]),
            ("bot", ""): ("1", 1.0, ["0", "0", "0", "0", "1"]),
            ("operator", "ivan"): ("2", 0.5, ["0", "0", "1", "0", "1"]),
            ("operator", "olga"): ("3", wilson(2, 3).value, ["0", "1", "0", "1", "1"]),
        }
        assert len(report["satisfaction"]) == len(rows)

        ARTIFACTS.mkdir(exist_ok=True)
        name = "postgres" if settings.is_postgres else "sqlite"
        chromium.set_window_size(
            1280, int(chromium.execute_script("return document.body.scrollHeight")) + 40
        )
        assert chromium.save_screenshot(str(ARTIFACTS / f"dashboard-results-{name}.png"))
