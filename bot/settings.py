"""Service settings, read once from the environment (every variable is `NUDGE_*`).

`Settings` declares each setting once: its type, its default and its bounds. pydantic-settings
reads the `NUDGE_<FIELD>` variables into a model made from those declarations.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from nlu.types import DEFAULT_THRESHOLD

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

# Public provider credentials the fakes accept, in each provider's format (python-telegram-bot
# checks a token's shape). Filled in only where the fakes are wired: a value here makes a
# provider count as configured, so load_settings must never fill them.
SANDBOX_WHATSAPP_TOKEN = "sandbox-whatsapp-token"
SANDBOX_ACCOUNT_SID = "AC" + "0" * 32
SANDBOX_TELEGRAM_TOKEN = "123456789:sandbox-telegram-token"


def _flag(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be 1/0 or true/false")


def _integer(value: object) -> object:
    """Python's int() syntax only: "5.0" or "1e3" is not an integer count."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError("must be an integer") from exc


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not an IANA zone") from exc
    return name


def _between(low: float, high: float, alias: str | None = None) -> Any:
    return Field(ge=low, le=high, validation_alias=alias)


def _secret() -> Any:
    """A credential: empty by default, and left out of the settings' repr (logs, tracebacks)."""
    return field(default="", repr=False)


Flag = Annotated[bool, BeforeValidator(_flag)]
Integer = Annotated[int, BeforeValidator(_integer)]
BaseUrl = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]
Language = Literal["ru", "en", "pl", "zh"]

# Fields no variable sets: the code chooses them.
_NOT_FROM_ENVIRONMENT = frozenset({"scheduler_interval_seconds", "extra"})


@dataclass(frozen=True)
class Settings:
    """Everything configurable; defaults make `nudge run` a local sandbox on SQLite."""

    root: Path = PROJECT_ROOT  # NUDGE_ROOT, or the caller's
    database_url: str = ""  # empty: SQLite at var/nudge.db under the root
    api_key: str = _secret()
    nlu_url: BaseUrl = ""
    nlu_token: str = _secret()
    nlu_port: Annotated[Integer, _between(1, 65535)] = 5005
    nlu_threshold: Annotated[float, _between(0.0, 1.0)] = DEFAULT_THRESHOLD
    nlu_timeout_seconds: Annotated[float, _between(0.05, 60.0, "NUDGE_NLU_TIMEOUT")] = 2.0
    sandbox: Flag = True  # unset: on unless a provider credential is set
    default_timezone: Annotated[str, AfterValidator(_iana_zone)] = "Europe/Moscow"
    default_language: Language = "ru"
    public_url: BaseUrl = "http://127.0.0.1:8080"
    max_body_bytes: Annotated[Integer, _between(1024, 64 * 1_048_576)] = 1_048_576
    max_batch_events: Annotated[Integer, _between(1, 100_000)] = 1000
    abandon_after_minutes: Annotated[Integer, _between(15, 60)] = 30
    chain_cooldown_hours: Annotated[Integer, _between(48, 72)] = 48
    attribution_hours: Annotated[Integer, _between(1, 720)] = 72
    retention_days: Annotated[Integer, _between(1, 3650)] = 30
    scheduler_interval_seconds: float = 1.0
    log_level: Annotated[str, AfterValidator(str.upper)] = "INFO"
    whatsapp_app_secret: str = _secret()  # empty in sandbox mode: SANDBOX_SECRETS' value
    whatsapp_verify_token: str = _secret()
    whatsapp_token: str = _secret()
    whatsapp_phone_number_id: str = "100000000000001"
    whatsapp_api_url: BaseUrl = ""
    whatsapp_rate_per_second: Annotated[Integer, _between(1, 10_000)] = 80
    twilio_account_sid: str = ""
    twilio_auth_token: str = _secret()
    twilio_from_number: str = "+15005550006"
    twilio_api_url: BaseUrl = ""
    telegram_bot_token: str = _secret()
    telegram_secret_token: str = _secret()
    telegram_api_url: BaseUrl = ""
    telegram_operators_chat_id: str = ""
    telegram_bot_username: str = "nudge_sandbox_bot"
    sms_rate_per_second: Annotated[Integer, _between(1, 10_000)] = 10
    telegram_rate_per_second: Annotated[Integer, _between(1, 10_000)] = 30
    recipient_rate_per_minute: Annotated[Integer, _between(1, 6000)] = 30
    send_timeout_seconds: Annotated[Integer, _between(1, 120)] = 10
    heartbeat_seconds: Annotated[float, _between(0.2, 60.0)] = 5.0
    instance_timeout_seconds: Annotated[float, _between(1.0, 3600.0)] = 30.0
    sandbox_status_callbacks: Flag = True
    session_secret: str = _secret()
    telegram_link_secret: str = _secret()
    telegram_link_days: Annotated[Integer, _between(1, 90)] = 7
    shop_retry_url: str = ""
    shopify_webhook_secret: str = _secret()
    shopify_access_token: str = _secret()
    shopify_api_url: BaseUrl = ""
    retailcrm_url: BaseUrl = ""
    retailcrm_api_key: str = _secret()
    retailcrm_sync_minutes: Annotated[Integer, _between(1, 60)] = 5
    holdout_enabled: Annotated[Flag, Field(validation_alias="NUDGE_HOLDOUT")] = True
    inbox_max_attempts: Annotated[Integer, _between(1, 50)] = 8
    inbox_retry_seconds: Annotated[float, _between(0.01, 600.0)] = 2.0
    inbox_lease_seconds: Annotated[float, _between(0.5, 3600.0)] = 60.0
    # trained models shared by every checkout on this machine, by training hash ("off": none)
    model_cache: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def model_cache_dir(self) -> Path | None:
        """NUDGE_MODEL_CACHE, else $XDG_CACHE_HOME/nudge/models (~/.cache/...); None when off."""
        if self.model_cache.lower() == "off":
            return None
        if self.model_cache:
            return Path(self.model_cache).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "nudge" / "models"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def providers_configured(self) -> bool:
        return bool(self.whatsapp_token or self.twilio_account_sid or self.telegram_bot_token)


def sandbox_credentials(settings: Settings) -> Settings:
    """A copy whose empty provider credentials hold the public sandbox values the fakes accept;
    for the fakes and the channels that talk to them, never for live wiring."""
    return dataclasses.replace(
        settings,
        whatsapp_token=settings.whatsapp_token or SANDBOX_WHATSAPP_TOKEN,
        twilio_account_sid=settings.twilio_account_sid or SANDBOX_ACCOUNT_SID,
        telegram_bot_token=settings.telegram_bot_token or SANDBOX_TELEGRAM_TOKEN,
    )


class _Environment(BaseSettings):
    """`NUDGE_*` variables; an unset, empty or blank one keeps the field's default."""

    model_config = SettingsConfigDict(
        env_prefix="NUDGE_", env_ignore_empty=True, str_strip_whitespace=True, extra="ignore"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: object) -> object:
        if not isinstance(values, dict):
            return values
        return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}


@cache
def _environment_model() -> type[_Environment]:
    """A pydantic-settings model with the fields of `Settings` that come from variables."""
    hints = get_type_hints(Settings, include_extras=True)
    fields: dict[str, Any] = {
        item.name: (hints[item.name], item.default)
        for item in dataclasses.fields(Settings)
        if item.name not in _NOT_FROM_ENVIRONMENT
    }
    return create_model("Environment", __base__=_Environment, **fields)


def _field_of(location: str) -> tuple[str, str]:
    """The variable and the field name of an error's location (a field name or an alias)."""
    for name, info in _environment_model().model_fields.items():
        variable = info.validation_alias if isinstance(info.validation_alias, str) else ""
        variable = variable or f"NUDGE_{name.upper()}"
        if location in {name, variable, variable.lower()}:
            return variable, name
    return location, location


def _message(error: ErrorDetails) -> str:
    """The pydantic error as a sentence naming the variable."""
    variable, name = _field_of(str(error["loc"][0]))
    context = error.get("ctx", {})
    kind = error["type"]
    if kind in {"greater_than_equal", "less_than_equal"}:
        info = _environment_model().model_fields[name]
        low = next(rule.ge for rule in info.metadata if getattr(rule, "ge", None) is not None)
        high = next(rule.le for rule in info.metadata if getattr(rule, "le", None) is not None)
        return f"{variable} must be between {low} and {high}, got {error['input']}"
    elif kind == "int_parsing":
        reason = "must be an integer"
    elif kind == "float_parsing":
        reason = "must be a number"
    elif kind == "literal_error":
        expected = str(context.get("expected", "")).replace("'", "")
        reason = f"must be {expected}"
    elif kind == "value_error":
        reason = str(context.get("error", error["msg"]))
    else:
        reason = error["msg"].lower()
    return f"{variable} {reason}, got {error['input']!r}"


def load_settings(root: Path | None = None) -> Settings:
    """Read `NUDGE_*` variables; raise SettingsError naming the first bad one."""
    try:
        environment = _environment_model()()
    except ValidationError as exc:
        raise SettingsError(_message(exc.errors()[0])) from exc
    values = environment.model_dump()
    base = values["root"] = root or values["root"]
    if not values["database_url"]:
        values["database_url"] = f"sqlite+aiosqlite:///{base / 'var' / 'nudge.db'}"
    if "sandbox" not in environment.model_fields_set:
        credentials = ("twilio_account_sid", "whatsapp_token", "telegram_bot_token")
        values["sandbox"] = not any(values[name] for name in credentials)
    if values["sandbox"]:
        for variable, public_value in SANDBOX_SECRETS.items():
            name = variable.removeprefix("NUDGE_").lower()
            values[name] = values[name] or public_value
    if values["instance_timeout_seconds"] < 2 * values["heartbeat_seconds"]:
        raise SettingsError(
            "NUDGE_INSTANCE_TIMEOUT_SECONDS must be at least twice NUDGE_HEARTBEAT_SECONDS, "
            f"got {values['instance_timeout_seconds']} and {values['heartbeat_seconds']}"
        )
    return Settings(**values)
