"""`/start <token>` deep links: an HMAC-signed contact id binding a Telegram chat to a contact."""

from __future__ import annotations

import base64
import hashlib
import hmac

# Telegram start parameters: up to 64 characters of A-Z a-z 0-9 _ -.
_SIG_BYTES = 12


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"nudge-telegram-link:" + secret.encode()).digest()


def _sig(contact_id: int, secret: str) -> str:
    mac = hmac.new(_key(secret), f"contact:{contact_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:_SIG_BYTES]).decode().rstrip("=")


def make_token(contact_id: int, secret: str) -> str:
    """`c<id>_<signature>`: short enough for a deep link, useless without the secret."""
    if not secret:
        raise ValueError("no secret for Telegram links: set NUDGE_TELEGRAM_SECRET_TOKEN")
    return f"c{contact_id}_{_sig(contact_id, secret)}"


def read_token(token: str, secret: str) -> int | None:
    """The contact id a valid token carries, or None (forged, truncated or malformed)."""
    if not secret or len(token) > 64 or not token.startswith("c") or "_" not in token:
        return None
    raw_id, _, signature = token[1:].partition("_")
    if not raw_id.isdigit() or len(raw_id) > 18:
        return None
    contact_id = int(raw_id)
    if not hmac.compare_digest(_sig(contact_id, secret).encode(), signature.encode()):
        return None
    return contact_id


def deep_link(bot_username: str, contact_id: int, secret: str) -> str:
    return f"https://t.me/{bot_username}?start={make_token(contact_id, secret)}"
