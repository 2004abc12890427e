"""Sending windows: the shop's quiet hours and the country rules of R-SR10, never looser.

Read from flows/country_rules.yml; the window that binds is named in the audit trail.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from flows.model import Duration, Model

PREFIX_MAX = 8  # "+" and up to 7 digits: the longest phone prefix a rule may name
CACHE_MAX = 20_000  # prefix and zone combinations remembered per rule set

K = TypeVar("K")
V = TypeVar("V")


def _remembered(cache: dict[K, V], key: K, compute: Callable[[], V]) -> V:
    """`cache[key]`, computed and kept on first use while the cache holds under CACHE_MAX."""
    found = cache.get(key)
    if found is None:
        found = compute()
        if len(cache) < CACHE_MAX:
            cache[key] = found
    return found


_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@functools.lru_cache(maxsize=256)  # firing asks twice per touch, for a handful of windows
def parse_window(value: str) -> tuple[time, time]:
    """`09:00-21:00` → (09:00, 21:00): the daytime hours when sending is allowed."""
    match = _WINDOW.match(value.replace("–", "-").replace(" ", ""))
    if not match:
        raise ValueError(f"{value!r} is not a window like 09:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r} has an impossible time")
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise ValueError(f"{value!r}: the allowed window must start before it ends, same day")
    return start, end


class _Windowed(Model):
    name: str
    prefixes: tuple[str, ...] = Field(min_length=1)
    allowed: str | None = None

    @field_validator("allowed")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    @field_validator("prefixes")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not re.match(r"^\+\d{1,7}$", prefix):  # at most PREFIX_MAX characters
                raise ValueError(f"{prefix!r} is not a phone prefix like +1 or +1305")
        return value


class Area(_Windowed):
    """Part of a country (US states by area code) with a stricter window."""


class Country(_Windowed):
    recovery_sms_per_chain: int | None = None
    recovery_sms_within: Duration | None = None
    whatsapp_marketing_templates: bool = True
    areas: tuple[Area, ...] = ()


class ShopRules(Model):
    allowed: str = "09:00-21:00"
    unknown_timezone_allowed: str = "10:00-20:00"

    @field_validator("allowed", "unknown_timezone_allowed")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value


class CountryRules(Model):
    shop: ShopRules = ShopRules()
    countries: tuple[Country, ...] = ()

    @functools.cached_property
    def matches(self) -> dict[str, tuple[Country | None, Area | None]]:
        """`country_for` by the phone's first PREFIX_MAX characters (all a prefix can use)."""
        return {}

    @functools.cached_property
    def windows(self) -> dict[tuple[str | None, str | None, str], Window]:
        """`window_for` by phone prefix, zone and default zone."""
        return {}

    def country_for(self, phone: str | None) -> tuple[Country | None, Area | None]:
        """The longest matching country prefix and, within it, area prefix."""
        if not phone:
            return None, None
        head = phone[:PREFIX_MAX]
        return _remembered(self.matches, head, lambda: self._match(head))

    def _match(self, phone: str) -> tuple[Country | None, Area | None]:
        best: Country | None = None
        for country in self.countries:
            if any(phone.startswith(p) for p in country.prefixes) and (
                best is None or max(map(len, country.prefixes)) > max(map(len, best.prefixes))
            ):
                best = country
        if best is None:
            return None, None
        area = next((a for a in best.areas if any(phone.startswith(p) for p in a.prefixes)), None)
        return best, area


@dataclass(frozen=True)
class Window:
    """Allowed local hours in one zone, and the rule that set each bound."""

    zone: ZoneInfo
    start: time
    end: time
    rule: str

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself when allowed, else the next local start of the window."""
        local = moment.astimezone(self.zone)
        if self.start <= local.time() < self.end:
            return moment
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=self.zone).astimezone(moment.tzinfo)

    def local_day(self, moment: datetime) -> object:
        return moment.astimezone(self.zone).date()

    def next_day_start(self, moment: datetime) -> datetime:
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=self.zone).astimezone(moment.tzinfo)


def window_for(
    rules: CountryRules, phone: str | None, timezone: str | None, default_zone: str
) -> Window:
    """The narrowest of: the shop's window, the country's, the area's (R-SR2, R-SR10)."""
    key = (phone[:PREFIX_MAX] if phone else None, timezone, default_zone)
    return _remembered(rules.windows, key, lambda: _narrowest(rules, phone, timezone, default_zone))


def _narrowest(
    rules: CountryRules, phone: str | None, timezone: str | None, default_zone: str
) -> Window:
    zone_known = bool(timezone)
    zone = ZoneInfo(timezone) if timezone else ZoneInfo(default_zone)
    start, end = parse_window(
        rules.shop.allowed if zone_known else rules.shop.unknown_timezone_allowed
    )
    rule = "R-SR2 quiet hours" if zone_known else "R-SR2 quiet hours (zone unknown)"
    country, area = rules.country_for(phone)
    for part in (country, area):
        if part is None or part.allowed is None:
            continue
        p_start, p_end = parse_window(part.allowed)
        if p_start > start or p_end < end:
            rule = f"R-SR10 {part.name} quiet hours"[:64]
        start, end = max(start, p_start), min(end, p_end)
    if start >= end:  # rules that leave no time at all: keep a minimal safe hour
        end = (datetime.combine(datetime(2000, 1, 1), start) + timedelta(hours=1)).time()
    return Window(zone, start, end, rule)
