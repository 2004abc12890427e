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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones
from pydantic import Field, field_validator

from flows.model import Duration, Model

PREFIX_MAX = 8  # "+" and up to 7 digits: the longest phone prefix a rule may name
CACHE_MAX = 20_000  # prefix and zone combinations remembered per rule set
SEARCH_DAYS = 8  # no moment allowed in every candidate zone within this → none ever
NO_COMMON_HOUR = "R-SR2 no hour allowed in every zone of the number"

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
    """Allowed local hours in one or several zones, and the rule that set each bound.

    `zone` counts local days for the caps; a moment is allowed only when it is inside the
    hours in every one of `zones` (the candidate zones of a number whose zone is unknown).
    """

    zone: ZoneInfo
    start: time
    end: time
    rule: str
    zones: tuple[ZoneInfo, ...] = ()

    def _next_in(self, zone: ZoneInfo, moment: datetime) -> datetime:
        local = moment.astimezone(zone)
        if self.start <= local.time() < self.end:
            return moment
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=zone).astimezone(moment.tzinfo)

    def next_allowed(self, moment: datetime) -> datetime | None:
        """`moment` itself when allowed, else the next moment allowed in every zone; None
        when the zones' hours never overlap."""
        if len(self.zones) <= 1:
            return self._next_in(self.zone, moment)
        limit = moment + timedelta(days=SEARCH_DAYS)
        found = moment
        while found <= limit:
            latest = max(self._next_in(zone, found) for zone in self.zones)
            if latest == found:
                return found
            found = latest
        return None

    def local_day(self, moment: datetime) -> object:
        return moment.astimezone(self.zone).date()

    def next_day_start(self, moment: datetime) -> datetime | None:
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        start = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(moment.tzinfo)
        return self.next_allowed(start)


def candidate_zones(phone: str | None) -> tuple[str, ...]:
    """The IANA zones the number's prefix may be in (phonenumbers' data); () when unknown."""
    if not phone:
        return ()
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return ()
    zones = []
    for name in phone_zones.time_zones_for_number(number):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown", or a zone this system's tz database lacks
        zones.append(name)
    return tuple(zones)


def window_for(
    rules: CountryRules, phone: str | None, timezone: str | None, default_zone: str
) -> Window:
    """The narrowest of: the shop's window, the country's, the area's (R-SR2, R-SR10)."""
    # Unknown zone: the whole number, since zone prefixes can be longer than PREFIX_MAX.
    head = phone if phone and not timezone else phone[:PREFIX_MAX] if phone else None
    key = (head, timezone, default_zone)
    return _remembered(rules.windows, key, lambda: _narrowest(rules, phone, timezone, default_zone))


def _narrowest(
    rules: CountryRules, phone: str | None, timezone: str | None, default_zone: str
) -> Window:
    if timezone:
        names: tuple[str, ...] = (timezone,)
        shop_window, rule = rules.shop.allowed, "R-SR2 quiet hours"
    else:  # the number's own zones; the shop's zone only when the number says nothing
        names = candidate_zones(phone)
        if names:
            shop_window, rule = rules.shop.allowed, "R-SR2 quiet hours (zones of the number)"
        else:
            names, shop_window = (default_zone,), rules.shop.unknown_timezone_allowed
            rule = "R-SR2 quiet hours (zone unknown)"
    start, end = parse_window(shop_window)
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
    zones = tuple(ZoneInfo(name) for name in names)
    primary = ZoneInfo(default_zone) if default_zone in names else zones[0]
    return Window(primary, start, end, rule, zones)
