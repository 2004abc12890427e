"""Logging that never shows a whole phone number, name or e-mail (R-PS2)."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{7,}\d(?!\w)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_SECRET = re.compile(r"(?i)\b(bearer|token|secret|password|signature)([=: ]+)(\S+)")


def mask_phone(phone: str | None) -> str:
    """`+79161234567` → `+7***567`: the country code and the last three digits stay."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 6:
        return "***"
    prefix = "+" if phone.strip().startswith("+") else ""
    return f"{prefix}{digits[:1]}***{digits[-3:]}"


def mask_email(email: str | None) -> str:
    """`anna@mail.ru` → `a***@mail.ru`."""
    if not email or "@" not in email:
        return "***"
    user, domain = email.split("@", 1)
    return f"{user[:1]}***@{domain}"


def mask_name(name: str | None) -> str:
    """`Anna` → `A***`."""
    if not name:
        return ""
    return f"{name.strip()[:1]}***"


def mask_text(text: str) -> str:
    """Mask every phone-, e-mail- and secret-looking piece of a free log line."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """Rewrites each record's final message with masking, whatever the caller passed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Root logging to stderr with the masking filter on every handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel("WARNING")
