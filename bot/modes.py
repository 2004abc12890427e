"""Sandbox or live: what `nudge run` refuses to start with, and which providers are real (R-PS5)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.settings import SANDBOX_SECRETS, Settings

MIN_SECRET_BYTES = 16

# Channel → the variable whose presence makes that provider real.
CREDENTIALS: dict[str, str] = {
    "whatsapp": "NUDGE_WHATSAPP_TOKEN",
    "sms": "NUDGE_TWILIO_ACCOUNT_SID",
    "telegram": "NUDGE_TELEGRAM_BOT_TOKEN",
}


def configured_channels(settings: Settings) -> list[str]:
    """Channels whose real provider has credentials, in a fixed order."""
    present = {
        "whatsapp": settings.whatsapp_token,
        "sms": settings.twilio_account_sid,
        "telegram": settings.telegram_bot_token,
    }
    return [channel for channel, value in present.items() if value]


def secret_problem(name: str, value: str) -> str | None:
    """Why a live secret is unusable, as one line naming the variable; None when it is fine."""
    if not value:
        return f"{name} is unset or empty"
    if value == SANDBOX_SECRETS.get(name):
        return f"{name} is the public sandbox default"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"{name} is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def _live_secrets(settings: Settings, channels: list[str]) -> list[tuple[str, str]]:
    wanted: list[tuple[str, str]] = []
    if "whatsapp" in channels:
        wanted.append(("NUDGE_WHATSAPP_APP_SECRET", settings.whatsapp_app_secret))
        wanted.append(("NUDGE_WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token))
    if "sms" in channels:
        wanted.append(("NUDGE_TWILIO_AUTH_TOKEN", settings.twilio_auth_token))
    if "telegram" in channels:
        wanted.append(("NUDGE_TELEGRAM_SECRET_TOKEN", settings.telegram_secret_token))
        wanted.append(("NUDGE_TELEGRAM_LINK_SECRET", settings.telegram_link_secret))
    wanted.append(("NUDGE_SESSION_SECRET", settings.session_secret))
    return wanted


def _on_loopback(url: str) -> bool:
    """A provider API URL on this machine: a fake (a benchmark's or a test's), not the provider."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def startup_problems(settings: Settings) -> list[str]:
    """Every reason not to start, one line each (empty: safe to start)."""
    channels = configured_channels(settings)
    if settings.sandbox:
        api_urls = {
            "whatsapp": settings.whatsapp_api_url,
            "sms": settings.twilio_api_url,
            "telegram": settings.telegram_api_url,
        }
        return [
            f"{CREDENTIALS[channel]} is a real provider credential, refused in sandbox mode "
            "(unset it, or unset NUDGE_SANDBOX to run live)"
            for channel in channels
            if not _on_loopback(api_urls[channel])
        ]
    problems = [
        problem
        for name, value in _live_secrets(settings, channels)
        if (problem := secret_problem(name, value)) is not None
    ]
    url = urlsplit(settings.public_url)
    if url.scheme != "https" or not url.hostname:
        problems.append(
            f"NUDGE_PUBLIC_URL must be an https:// URL in live mode, got {settings.public_url!r}"
        )
    return problems


def describe_mode(settings: Settings) -> str:
    """One line for the start banner: the mode and what each channel talks to."""
    if settings.sandbox:
        return "mode: sandbox; providers: whatsapp, sms, telegram are fakes on loopback"
    channels = configured_channels(settings)
    absent = [channel for channel in CREDENTIALS if channel not in channels]
    live = ", ".join(channels) or "none"
    return f"mode: live; live providers: {live}" + (
        f"; not configured: {', '.join(absent)}" if absent else ""
    )
