"""`/start <token>` deep links: a signed, expiring token naming a contact and a one-use nonce.

itsdangerous signs `<nonce><contact id>` with a timestamp. Its `.` separators are not allowed
in a Telegram start parameter (up to 64 of A-Z a-z 0-9 _ -), so the token is the three parts
joined without them: the nonce (11), the timestamp (6, until 2106) and the HMAC-SHA1 signature
(27) have fixed widths.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

SALT = "nudge.telegram-link"
NONCE_CHARS = 11
_TIMESTAMP_CHARS = 6
_SIGNATURE_CHARS = 27
_TAIL = _TIMESTAMP_CHARS + _SIGNATURE_CHARS
_MAX_ID_DIGITS = 18
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class LinkToken:
    contact_id: int
    nonce: str
    issued_at: datetime


class LinkTokenError(Exception):
    """A token that binds nothing: `forged` (bad signature or shape) or `expired` (then the
    contact it names is known: the signature checked out)."""

    def __init__(self, reason: Literal["forged", "expired"], contact_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason: Literal["forged", "expired"] = reason
        self.contact_id = contact_id


class _ClockSigner(TimestampSigner):
    """Signs and checks ages against the service's clock (the sandbox clock can move)."""

    def __init__(self, secret: str, now: datetime) -> None:
        super().__init__(secret, salt=SALT)
        self._now = int(now.timestamp())

    def get_timestamp(self) -> int:
        return self._now


def make_token(contact_id: int, secret: str, now: datetime | None = None) -> str:
    """A fresh token (new nonce) for the contact, issued at `now`."""
    if not secret:
        raise ValueError("no secret for Telegram links: set NUDGE_TELEGRAM_LINK_SECRET")
    if not 0 <= contact_id < 10**_MAX_ID_DIGITS:
        raise ValueError(f"contact id out of range for a link token: {contact_id}")
    nonce = secrets.token_urlsafe(8)
    signer = _ClockSigner(secret, now or datetime.now(UTC))
    value, timestamp, signature = signer.sign(f"{nonce}{contact_id}").decode().rsplit(".", 2)
    if len(timestamp) != _TIMESTAMP_CHARS or len(signature) != _SIGNATURE_CHARS:
        raise ValueError("link token parts out of their fixed widths (clock out of range?)")
    return value + timestamp + signature


def parse_token(
    token: str, secret: str, now: datetime | None = None, max_age: timedelta | None = None
) -> LinkToken:
    """The token's contents; raises LinkTokenError when forged, malformed or too old."""
    if not secret or not _TOKEN.match(token) or len(token) <= _TAIL + NONCE_CHARS:
        raise LinkTokenError("forged")
    value, timestamp, signature = (
        token[:-_TAIL],
        token[-_TAIL:-_SIGNATURE_CHARS],
        token[-_SIGNATURE_CHARS:],
    )
    nonce, raw_id = value[:NONCE_CHARS], value[NONCE_CHARS:]
    if not raw_id.isdigit() or len(raw_id) > _MAX_ID_DIGITS:
        raise LinkTokenError("forged")
    signer = _ClockSigner(secret, now or datetime.now(UTC))
    age = None if max_age is None else int(max_age.total_seconds())
    try:
        _, issued = signer.unsign(f"{value}.{timestamp}.{signature}", age, return_timestamp=True)
    except SignatureExpired as exc:  # raised only once the signature itself checked out
        raise LinkTokenError("expired", int(raw_id)) from exc
    except BadSignature as exc:
        raise LinkTokenError("forged") from exc
    return LinkToken(int(raw_id), nonce, issued)


def read_token(token: str, secret: str) -> int | None:
    """The contact id a validly signed token carries (age unchecked), or None."""
    try:
        return parse_token(token, secret).contact_id
    except LinkTokenError:
        return None


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"
