"""R-RP5: card numbers and CVV-like codes are removed before a message is stored or classified."""

from __future__ import annotations

import re
from dataclasses import dataclass

CARD_MASK = "[card number removed]"
CVV_MASK = "[code removed]"

# 13–19 digits, optionally grouped by single spaces or dashes (as people type them).
_CARD_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ \-]?\d){12,18}(?![\d])")
# A 3–4 digit code near a word that names it (cvv, cvc, код, kod, 安全码 …), either order;
# the gaps are bounded so that a long run of spaces costs linear time, not quadratic.
_CVV_WORDS = (
    r"cvv2?|cvc2?|cid|csc|security\s*code|card\s*code|"
    r"код(?:\s*безопасности)?|кв[вф]|свв|свс|цвв|"
    r"kod(?:\s*cvv|\s*bezpiecze[nń]stwa)?|"
    r"安全码|验证码|卡背后三位|后三位"
)
_CVV_AFTER = re.compile(
    rf"(?<![a-zA-Zа-яА-ЯёЁ])(?P<word>{_CVV_WORDS})(?P<gap>[\s:=\-–—#№]{{0,8}}(?:is|это|to|:)?[\s:=\-–—#№]{{0,8}})(?P<code>\d{{3,4}})(?!\d)",
    re.IGNORECASE,
)
_CVV_BEFORE = re.compile(
    rf"(?<!\d)(?P<code>\d{{3,4}})(?P<gap>\s{{0,8}}[-–—]?\s{{0,8}})(?P<word>{_CVV_WORDS})(?![a-zA-Zа-яА-ЯёЁ])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Redaction:
    text: str
    card_data_removed: bool


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return CARD_MASK
    return match.group(0)


def redact(text: str) -> Redaction:
    """Replace Luhn-valid card numbers and CVV-like codes; say whether anything was removed."""
    cleaned = _CARD_CANDIDATE.sub(_card, text)
    cleaned = _CVV_AFTER.sub(lambda m: f"{m.group('word')}{m.group('gap')}{CVV_MASK}", cleaned)
    cleaned = _CVV_BEFORE.sub(lambda m: f"{CVV_MASK}{m.group('gap')}{m.group('word')}", cleaned)
    return Redaction(cleaned, cleaned != text)


_MASKS = re.compile(f"{re.escape(CARD_MASK)}|{re.escape(CVV_MASK)}")


def without_masks(text: str) -> str:
    """The redacted text as the model reads it: the English masks would read as words
    ("removed" pulled Chinese payment replies to `stop`), so they go."""
    return " ".join(_MASKS.sub(" ", text).split())
