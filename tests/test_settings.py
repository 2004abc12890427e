"""Settings fail early with a message naming the variable."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NUDGE_DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("NUDGE_ABANDON_AFTER_MINUTES", "5"),
        ("NUDGE_ABANDON_AFTER_MINUTES", "soon"),
        ("NUDGE_CHAIN_COOLDOWN_HOURS", "100"),
        ("NUDGE_SANDBOX", "maybe"),
        ("NUDGE_NLU_THRESHOLD", "2"),
        ("NUDGE_DEFAULT_LANGUAGE", "de"),
        ("NUDGE_TELEGRAM_LINK_DAYS", "0"),
        ("NUDGE_HEARTBEAT_SECONDS", "0"),
        ("NUDGE_INSTANCE_TIMEOUT_SECONDS", "8"),  # under twice the 5 s heartbeat
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_defaults_are_a_local_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "NUDGE_DATABASE_URL",
        "NUDGE_SANDBOX",
        "NUDGE_WHATSAPP_TOKEN",
        "NUDGE_TWILIO_ACCOUNT_SID",
        "NUDGE_TELEGRAM_BOT_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    assert settings.sandbox is True
    assert settings.database_url.endswith("var/nudge.db")
    assert settings.abandon_after_minutes == 30 and settings.chain_cooldown_hours == 48


def test_provider_credentials_turn_sandbox_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUDGE_SANDBOX", raising=False)
    monkeypatch.setenv("NUDGE_TWILIO_ACCOUNT_SID", "AC123")
    assert load_settings().sandbox is False
    monkeypatch.setenv("NUDGE_SANDBOX", "1")
    assert load_settings().sandbox is True


def test_sandbox_secret_values_stay_in_sandbox_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NUDGE_SANDBOX", "NUDGE_WHATSAPP_TOKEN", "NUDGE_TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NUDGE_TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("NUDGE_WHATSAPP_APP_SECRET", "")  # empty must not become a public value
    monkeypatch.delenv("NUDGE_TWILIO_AUTH_TOKEN", raising=False)
    live = load_settings()
    assert live.sandbox is False
    assert live.whatsapp_app_secret == "" and live.twilio_auth_token == ""
    assert live.telegram_secret_token == "" and live.telegram_link_secret == ""
    monkeypatch.setenv("NUDGE_SANDBOX", "1")
    sandbox = load_settings()
    assert sandbox.whatsapp_app_secret == "sandbox-app-secret"
    assert sandbox.twilio_auth_token == "sandbox-twilio-token"
