"""Quiet hours when the shopper's zone is unknown: the number's own zones (R-SR2, R-SR10)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
import yaml
from phonenumbers import timezone as phone_zones

from bot.app import create_app
from bot.clock import SandboxClock
from bot.settings import PROJECT_ROOT
from flows.rules import CountryRules, parse_window, window_for
from tests.conftest import make_settings
from tests.factory import at
from tests.touches_fixtures import Shop

RULES_FILE = PROJECT_ROOT / "flows" / "country_rules.yml"
SHOP_ZONE = "Europe/Moscow"


def _sent(out: list[dict[str, Any]]) -> datetime:
    return datetime.fromisoformat(out[0]["sent_at"].replace("Z", "+00:00"))


async def test_new_york_number_is_not_texted_at_night(client: Any) -> None:
    """+1 212 without a zone: touch 1 due 02:00 New York waits for 09:00 New York."""
    shop = Shop(client)
    await shop.advance(hours=21, minutes=30)  # 06:30Z = 01:30 New York, 09:30 Moscow
    await shop.start(
        "ny", channel="sms", phone="+12125550100", timezone=None, language="en",
        when=at(hours=21, minutes=30),
    )  # fmt: skip
    await shop.advance(days=1)
    out = await shop.outbox("ny")
    assert _sent(out) == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 New York
    rules = [e["rule"] for e in await shop.timeline("ny")]
    assert "R-SR2 quiet hours (zones of the number)" in rules


@pytest.mark.parametrize(
    ("due_hours", "expected"),
    [
        # 16:30Z = 09:30 Boise but 08:30 Los Angeles: wait for 09:00 Los Angeles
        (31.5, datetime(2026, 3, 3, 17, 0, tzinfo=UTC)),
        # 03:30Z = 20:30 Boise, 19:30 Los Angeles: allowed in both
        (18.5, datetime(2026, 3, 3, 3, 30, tzinfo=UTC)),
        # 04:30Z = 21:30 Boise but 20:30 Los Angeles: Boise is already quiet
        (19.5, datetime(2026, 3, 3, 17, 0, tzinfo=UTC)),
    ],
)
async def test_number_spanning_two_zones_uses_hours_allowed_in_both(
    client: Any, due_hours: float, expected: datetime
) -> None:
    """+1 208 (Idaho) is in Mountain and Pacific time: only hours allowed in both."""
    shop = Shop(client)
    start = due_hours - 0.5  # touch 1 is due 30 minutes after the checkout
    await shop.advance(hours=start)
    await shop.start(
        "id", channel="sms", phone="+12085550100", timezone=None, language="en",
        when=at(hours=start),
    )  # fmt: skip
    await shop.advance(days=2)
    assert _sent(await shop.outbox("id")) == expected


async def test_india_without_zone_never_between_21_and_10(client: Any) -> None:
    """+91 without a zone: checkouts every 45 minutes of a day, none texted 21:00–10:00 IST."""
    shop = Shop(client)
    kolkata = ZoneInfo("Asia/Kolkata")
    people = [f"in{n}" for n in range(32)]
    for n, person in enumerate(people):
        await shop.start(
            person, channel="sms", phone=f"+9198123456{n:02d}", timezone=None, language="en",
            when=at(minutes=45 * n),
        )  # fmt: skip
        await shop.advance(minutes=45)
    await shop.advance(days=2)
    sent = [_sent(await shop.outbox(p)).astimezone(kolkata) for p in people]
    assert len(sent) == len(people)
    late = [s.time().isoformat() for s in sent if not 10 <= s.hour < 21]
    assert late == []


@pytest.fixture
async def strict_client(
    aiohttp_client: Callable[..., Any], tmp_path: Path, db_url: str, clock: SandboxClock
) -> Any:
    """The service with a designer's rule for +7: 10:00–20:00, which the number's zones
    (Kaliningrad-like UTC+2 to Kamchatka UTC+12 in March) never share."""
    shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", tmp_path / "domain.yml")
    rules = tmp_path / "flows" / "country_rules.yml"
    rules.write_text(
        rules.read_text(encoding="utf-8")
        + '\n  - name: Russia\n    prefixes: ["+7"]\n    allowed: "10:00-20:00"\n',
        encoding="utf-8",
    )
    settings = replace(make_settings(tmp_path, db_url), root=tmp_path)
    app = create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    return await aiohttp_client(app)


async def test_no_hour_shared_by_the_zones_sends_nothing(strict_client: Any) -> None:
    """Empty intersection: nothing is sent, at planning nor at firing; the audit says why."""
    shop = Shop(strict_client)
    await shop.start("ru", phone="+79161234567", timezone=None)
    await shop.start("known", phone="+79161234568")  # zone given: Moscow, sent
    await shop.advance(days=3)
    assert await shop.outbox("ru") == []
    assert len(await shop.outbox("known")) == 3
    entries = await shop.timeline("ru")
    assert any(
        e["action"] == "skipped"
        and e["rule"] == "R-SR2 no hour allowed in every zone of the number"
        for e in entries
    )


async def test_number_without_zone_data_uses_the_shops_zone(client: Any) -> None:
    """A satellite number says nothing: the shop's zone and its safe 10:00–20:00."""
    shop = Shop(client)
    await shop.advance(hours=7, minutes=45)  # 16:45Z = 19:45 Moscow
    await shop.start("sat", phone="+881612345678", timezone=None, when=at(hours=7, minutes=45))
    await shop.advance(days=1)
    assert _sent(await shop.outbox("sat")) == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def _sample_numbers() -> list[tuple[str, str, str]]:
    """A number for every country and area prefix of the shipped rules, with its window."""
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    samples = []
    for country in data["countries"]:
        parts = [(country["name"], country["prefixes"], country["allowed"])]
        parts += [(a["name"], a["prefixes"], a["allowed"]) for a in country.get("areas", [])]
        for name, prefixes, allowed in parts:
            for prefix in prefixes:
                code, rest = _split(prefix)
                region = phonenumbers.region_code_for_country_code(code)
                example = phonenumbers.example_number_for_type(
                    region, phonenumbers.PhoneNumberType.MOBILE
                )
                national = str(example.national_number)
                number = f"+{code}{rest}{national[len(rest) :]}"
                samples.append((name, number, allowed))
    return samples


def _split(prefix: str) -> tuple[int, str]:
    digits = prefix[1:]
    for size in (1, 2, 3):
        if phonenumbers.region_code_for_country_code(int(digits[:size])) != "ZZ":
            return int(digits[:size]), digits[size:]
    raise AssertionError(f"{prefix} starts with no country code")


@pytest.mark.parametrize(("name", "phone", "allowed"), _sample_numbers())
def test_every_country_rule_holds_in_every_zone_of_the_number(
    name: str, phone: str, allowed: str
) -> None:
    """Unknown zone: every moment the window allows is inside the country's hours in each of
    the number's candidate zones, over two days on each side of a DST change."""
    rules = CountryRules.model_validate(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))
    zones = phone_zones.time_zones_for_number(phonenumbers.parse(phone))
    assert zones, f"{name}: {phone} has no zone data"
    start, end = parse_window(allowed)
    win = window_for(rules, phone, None, SHOP_ZONE)
    for first in (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)):
        for step in range(0, 4 * 24 * 4):
            moment = win.next_allowed(first + timedelta(minutes=15 * step))
            if moment is None:  # nothing allowed in every zone
                continue
            for zone in zones:
                local = moment.astimezone(ZoneInfo(zone)).time()
                assert start <= local < end, f"{name} {phone}: {local} in {zone}"
