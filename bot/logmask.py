"""Logging that never shows a whole phone number, name or e-mail (R-PS2), and stays quiet."""

from __future__ import annotations

import logging
import re
from pathlib import Path

# A phone-shaped run: digits joined by single spaces, dashes, dots or brackets, not glued to a
# word, to a time's or port's colon (`09:56`, `:5005`, `:38,123` milliseconds) or to a
# dotted or dashed digit after it.
_PHONE = re.compile(r"(?<![\w+.\\-])(?<!\d:)(?<!:\d\d,)\+?\(?\d(?:[\s().-]{0,2}\d)+(?!\w|[.-]\d)")
# Parts of a run that are not a phone: a date, an IPv4 address, a zone offset (what is around
# them is looked at again); and a last 1–2 digit group cut off by `:` or `/` (`09:56`, `03/Dec`).
_NOT_PHONE_PART = re.compile(
    r"(?<![\d.-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,3}(?:\.\d{1,3}){3})(?![.-]?\d)"
    r"|^\+(?:0\d|1[0-4])[0-5]\d(?=\s|$)"  # a time zone offset (`+0300`): no phone starts so
)
_CUT_GROUP = re.compile(r"[\sT]\d{1,2}$")
_DECIMAL = re.compile(r"\d+\.\d+")
_MIN_DIGITS = 7
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_SECRET = re.compile(r"(?i)\b(bearer|token|secret|password|signature)([=: ]+)(\S+)")
# Libraries whose INFO lines are a heartbeat (APScheduler: two per job run; httpx: one per
# request): the service log keeps their warnings and errors only.
QUIET_LOGGERS = ("apscheduler", "httpx", "httpcore", "aiohttp.access")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def _mask_run(found: str) -> str:
    part = _NOT_PHONE_PART.search(found)
    if part is not None:
        before, after = found[: part.start()], found[part.end() :]
        return _PHONE.sub(_phone, before) + part.group(0) + _PHONE.sub(_phone, after)
    if sum(char.isdigit() for char in found) < _MIN_DIGITS or _DECIMAL.fullmatch(found):
        return found
    return mask_phone(found)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    cut = match.string[match.end() : match.end() + 1] in (":", "/")
    group = _CUT_GROUP.search(found) if cut else None
    if group is not None:
        return _mask_run(found[: group.start()]) + group.group(0)
    return _mask_run(found)


def mask_text(text: str) -> str:
    """Mask every phone-, e-mail- and secret-looking piece of a free log line."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(_phone, text)


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


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record: the message, exception text and traceback too."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def masked_handler(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(MaskingFormatter(FORMAT))
    handler.addFilter(MaskingFilter())
    return handler


def configure_logging(level: str = "INFO", file: Path | None = None) -> None:
    """Root logging to stderr (or to `file`), masked, without the libraries' heartbeat."""
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(file) if file is not None else logging.StreamHandler()
    root = logging.getLogger()
    root.handlers[:] = [masked_handler(handler)]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
