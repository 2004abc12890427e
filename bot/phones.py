"""Phone numbers: whether one is written in E.164, and its country as ISO 3166 alpha-2."""

from __future__ import annotations

import functools

import phonenumbers

# "+" and four digits name the country, and for +1 the area code (US or Canada), +7 RU or KZ.
PREFIX_LENGTH = 5


@functools.lru_cache(maxsize=4096)
def _country_of_prefix(prefix: str) -> str | None:
    try:
        number = phonenumbers.parse(prefix + "5550123", None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None or region == "ZZ":
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    # ISO 3166 alpha-2 only: non-geographic numbers (+800, +882 …) have region "001"
    return region if region and len(region) == 2 and region != "ZZ" else None


def country_of(phone: str | None) -> str | None:
    """ "+79161234567" → "RU", "+12125550123" → "US"; None when unknown."""
    if not phone or not phone.startswith("+") or not phone[1:PREFIX_LENGTH].isdigit():
        return None
    return _country_of_prefix(phone[:PREFIX_LENGTH])


def is_e164(value: str) -> bool:
    """ "+79161234567": "+", a country code and a national number of a possible length, no
    spaces or punctuation (possible, not valid: test and fictional ranges pass)."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    canonical = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return canonical == value and phonenumbers.is_possible_number(number)
