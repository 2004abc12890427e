"""How many SMS segments a text costs: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67)."""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# These take an escape septet plus their own: two septets each.
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def sms_segments(text: str) -> int:
    """Segments Twilio bills for `text`; one Cyrillic letter switches the whole text to UCS-2."""
    if not text:
        return 1
    if is_gsm7(text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2  # an emoji is two UTF-16 units
    return 1 if units <= 70 else math.ceil(units / 67)


def fits(text: str, max_segments: int = 2) -> bool:
    """Touches are kept within two segments; callers shorten or reject the text."""
    return sms_segments(text) <= max_segments
