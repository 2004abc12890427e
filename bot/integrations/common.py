"""Helpers both shop adapters share: phones to E.164, names, the shop their events belong to."""

from __future__ import annotations

from typing import Any

import phonenumbers

# Adapter events belong to the shop of NUDGE_API_KEY, so API and adapter events meet.
SHOP = "default"
LANGUAGES = ("ru", "en", "pl", "zh")


class Untranslatable(ValueError):
    """The payload lacks something an event needs; the message names the field."""


def e164(raw: object, region: object = None) -> str | None:
    """A phone as E.164, or None when it is not a valid number (no guessing beyond region)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    hint = region.upper() if isinstance(region, str) and len(region) == 2 else None
    try:
        number = phonenumbers.parse(raw, hint)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def first_name(raw: object) -> str | None:
    """A first name only (R-PZ1), trimmed to the contact's 64 characters."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    return raw.strip().split()[0][:64]


def language(raw: object) -> str | None:
    """`ru-RU`, `en` → a language Nudge speaks, else None."""
    if not isinstance(raw, str):
        return None
    code = raw[:2].lower()
    return code if code in LANGUAGES else None


def obj(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one (platforms send null freely)."""
    return value if isinstance(value, dict) else {}
