"""Service settings, read once from the environment (every variable is `NUDGE_*`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


# Public values that let the sandbox's fake providers sign webhooks; never used in live mode.
SANDBOX_SECRETS: dict[str, str] = {
    "NUDGE_WHATSAPP_APP_SECRET": "sandbox-app-secret",
    "NUDGE_WHATSAPP_VERIFY_TOKEN": "sandbox-verify-token",
    "NUDGE_TWILIO_AUTH_TOKEN": "sandbox-twilio-token",
    "NUDGE_TELEGRAM_SECRET_TOKEN": "sandbox-telegram-secret",
    "NUDGE_TELEGRAM_LINK_SECRET": "sandbox-telegram-link-secret",
}


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


def _secret(name: str, sandbox: bool) -> str:
    """The variable's value; unset or empty is the public sandbox value in sandbox mode only."""
    return _env(name, SANDBOX_SECRETS[name] if sandbox else "")


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be 1/0 or true/false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything configurable; defaults make `nudge run` a local sandbox on SQLite."""

    root: Path = PROJECT_ROOT
    database_url: str = ""
    api_key: str = ""
    nlu_url: str = ""
    nlu_token: str = ""
    nlu_port: int = 5005
    nlu_threshold: float = 0.3
    nlu_timeout_seconds: float = 2.0
    sandbox: bool = True
    default_timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 1_048_576
    max_batch_events: int = 1000
    abandon_after_minutes: int = 30
    chain_cooldown_hours: int = 48
    attribution_hours: int = 72
    retention_days: int = 30
    scheduler_interval_seconds: float = 1.0
    log_level: str = "INFO"
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_api_url: str = ""
    whatsapp_rate_per_second: int = 80
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_api_url: str = ""
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_url: str = ""
    telegram_operators_chat_id: str = ""
    telegram_bot_username: str = "nudge_sandbox_bot"
    sms_rate_per_second: int = 10
    telegram_rate_per_second: int = 30
    recipient_rate_per_minute: int = 30
    send_timeout_seconds: int = 10
    heartbeat_seconds: float = 5.0
    instance_timeout_seconds: float = 30.0
    sandbox_status_callbacks: bool = True
    session_secret: str = ""
    telegram_link_secret: str = ""
    telegram_link_days: int = 7
    shop_retry_url: str = ""
    shopify_webhook_secret: str = ""
    shopify_access_token: str = ""
    shopify_api_url: str = ""
    retailcrm_url: str = ""
    retailcrm_api_key: str = ""
    retailcrm_sync_minutes: int = 5
    holdout_enabled: bool = True
    inbox_max_attempts: int = 8
    inbox_retry_seconds: float = 2.0
    inbox_lease_seconds: float = 60.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def providers_configured(self) -> bool:
        return bool(self.whatsapp_token or self.twilio_account_sid or self.telegram_bot_token)


def load_settings(root: Path | None = None) -> Settings:
    """Read `NUDGE_*` variables; raise SettingsError naming the first bad one."""
    base = root or Path(_env("NUDGE_ROOT", str(PROJECT_ROOT)))
    default_db = f"sqlite+aiosqlite:///{base / 'var' / 'nudge.db'}"
    timezone = _env("NUDGE_DEFAULT_TIMEZONE", "Europe/Moscow")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"NUDGE_DEFAULT_TIMEZONE is not an IANA zone: {timezone!r}") from exc
    language = _env("NUDGE_DEFAULT_LANGUAGE", "ru")
    if language not in {"ru", "en", "pl", "zh"}:
        raise SettingsError(f"NUDGE_DEFAULT_LANGUAGE must be ru, en, pl or zh, got {language!r}")
    threshold_raw = _env("NUDGE_NLU_THRESHOLD", "0.3")
    try:
        threshold = float(threshold_raw)
    except ValueError as exc:
        raise SettingsError(f"NUDGE_NLU_THRESHOLD must be a number, got {threshold_raw!r}") from exc
    if not 0.0 <= threshold <= 1.0:
        raise SettingsError(f"NUDGE_NLU_THRESHOLD must be within 0..1, got {threshold}")
    twilio_sid = _env("NUDGE_TWILIO_ACCOUNT_SID", "")
    whatsapp_token = _env("NUDGE_WHATSAPP_TOKEN", "")
    telegram_token = _env("NUDGE_TELEGRAM_BOT_TOKEN", "")
    configured = bool(twilio_sid or whatsapp_token or telegram_token)
    sandbox = _bool("NUDGE_SANDBOX", not configured)
    heartbeat = _float("NUDGE_HEARTBEAT_SECONDS", 5.0, 0.2, 60.0)
    silent_after = _float("NUDGE_INSTANCE_TIMEOUT_SECONDS", 30.0, 1.0, 3600.0)
    if silent_after < 2 * heartbeat:
        raise SettingsError(
            "NUDGE_INSTANCE_TIMEOUT_SECONDS must be at least twice NUDGE_HEARTBEAT_SECONDS, "
            f"got {silent_after} and {heartbeat}"
        )
    return Settings(
        root=base,
        database_url=_env("NUDGE_DATABASE_URL", default_db),
        api_key=_env("NUDGE_API_KEY", ""),
        nlu_url=_env("NUDGE_NLU_URL", "").rstrip("/"),
        nlu_token=_env("NUDGE_NLU_TOKEN", ""),
        nlu_port=_int("NUDGE_NLU_PORT", 5005, 1, 65535),
        nlu_threshold=threshold,
        nlu_timeout_seconds=_float("NUDGE_NLU_TIMEOUT", 2.0, 0.05, 60.0),
        sandbox=sandbox,
        default_timezone=timezone,
        default_language=language,
        public_url=_env("NUDGE_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
        max_body_bytes=_int("NUDGE_MAX_BODY_BYTES", 1_048_576, 1024, 64 * 1_048_576),
        max_batch_events=_int("NUDGE_MAX_BATCH_EVENTS", 1000, 1, 100_000),
        abandon_after_minutes=_int("NUDGE_ABANDON_AFTER_MINUTES", 30, 15, 60),
        chain_cooldown_hours=_int("NUDGE_CHAIN_COOLDOWN_HOURS", 48, 48, 72),
        attribution_hours=_int("NUDGE_ATTRIBUTION_HOURS", 72, 1, 720),
        retention_days=_int("NUDGE_RETENTION_DAYS", 30, 1, 3650),
        log_level=_env("NUDGE_LOG_LEVEL", "INFO").upper(),
        whatsapp_app_secret=_secret("NUDGE_WHATSAPP_APP_SECRET", sandbox),
        whatsapp_verify_token=_secret("NUDGE_WHATSAPP_VERIFY_TOKEN", sandbox),
        whatsapp_token=whatsapp_token,
        whatsapp_phone_number_id=_env("NUDGE_WHATSAPP_PHONE_NUMBER_ID", "100000000000001"),
        whatsapp_api_url=_env("NUDGE_WHATSAPP_API_URL", "").rstrip("/"),
        whatsapp_rate_per_second=_int("NUDGE_WHATSAPP_RATE_PER_SECOND", 80, 1, 10_000),
        twilio_account_sid=twilio_sid,
        twilio_auth_token=_secret("NUDGE_TWILIO_AUTH_TOKEN", sandbox),
        twilio_from_number=_env("NUDGE_TWILIO_FROM_NUMBER", "+15005550006"),
        twilio_api_url=_env("NUDGE_TWILIO_API_URL", "").rstrip("/"),
        telegram_bot_token=telegram_token,
        telegram_secret_token=_secret("NUDGE_TELEGRAM_SECRET_TOKEN", sandbox),
        telegram_api_url=_env("NUDGE_TELEGRAM_API_URL", "").rstrip("/"),
        telegram_operators_chat_id=_env("NUDGE_TELEGRAM_OPERATORS_CHAT_ID", ""),
        telegram_bot_username=_env("NUDGE_TELEGRAM_BOT_USERNAME", "nudge_sandbox_bot"),
        sms_rate_per_second=_int("NUDGE_SMS_RATE_PER_SECOND", 10, 1, 10_000),
        telegram_rate_per_second=_int("NUDGE_TELEGRAM_RATE_PER_SECOND", 30, 1, 10_000),
        recipient_rate_per_minute=_int("NUDGE_RECIPIENT_RATE_PER_MINUTE", 30, 1, 6000),
        send_timeout_seconds=_int("NUDGE_SEND_TIMEOUT_SECONDS", 10, 1, 120),
        heartbeat_seconds=heartbeat,
        instance_timeout_seconds=silent_after,
        sandbox_status_callbacks=_bool("NUDGE_SANDBOX_STATUS_CALLBACKS", True),
        session_secret=_env("NUDGE_SESSION_SECRET", ""),
        telegram_link_secret=_secret("NUDGE_TELEGRAM_LINK_SECRET", sandbox),
        telegram_link_days=_int("NUDGE_TELEGRAM_LINK_DAYS", 7, 1, 90),
        shop_retry_url=_env("NUDGE_SHOP_RETRY_URL", ""),
        shopify_webhook_secret=_env("NUDGE_SHOPIFY_WEBHOOK_SECRET", ""),
        shopify_access_token=_env("NUDGE_SHOPIFY_ACCESS_TOKEN", ""),
        shopify_api_url=_env("NUDGE_SHOPIFY_API_URL", "").rstrip("/"),
        retailcrm_url=_env("NUDGE_RETAILCRM_URL", "").rstrip("/"),
        retailcrm_api_key=_env("NUDGE_RETAILCRM_API_KEY", ""),
        retailcrm_sync_minutes=_int("NUDGE_RETAILCRM_SYNC_MINUTES", 5, 1, 60),
        holdout_enabled=_bool("NUDGE_HOLDOUT", True),
        inbox_max_attempts=_int("NUDGE_INBOX_MAX_ATTEMPTS", 8, 1, 50),
        inbox_retry_seconds=_float("NUDGE_INBOX_RETRY_SECONDS", 2.0, 0.01, 600.0),
        inbox_lease_seconds=_float("NUDGE_INBOX_LEASE_SECONDS", 60.0, 0.5, 3600.0),
    )
