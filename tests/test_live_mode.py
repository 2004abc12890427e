"""`nudge run` as a real process: live mode refuses unsafe secrets, the banner names the mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.settings import PROJECT_ROOT
from tests.live_server import free_port

GOOD = {
    "NUDGE_WHATSAPP_APP_SECRET": "wa-app-secret-0123456789abcdef",
    "NUDGE_WHATSAPP_VERIFY_TOKEN": "wa-verify-token-0123456789abcdef",
    "NUDGE_TWILIO_AUTH_TOKEN": "twilio-auth-token-0123456789abcdef",
    "NUDGE_TELEGRAM_SECRET_TOKEN": "tg-secret-token-0123456789abcdef",
    "NUDGE_TELEGRAM_LINK_SECRET": "tg-link-secret-0123456789abcdef",
    "NUDGE_SESSION_SECRET": "session-secret-0123456789abcdef",
    "NUDGE_PUBLIC_URL": "https://nudge.shop.example",
}


def _env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The test's environment without any NUDGE_* the developer's shell may carry."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("NUDGE_")}
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: no Rasa, no provider
    return (
        base
        | {
            "NUDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nudge.db'}",
            "NUDGE_NLU_URL": dead,
            "NUDGE_WHATSAPP_API_URL": dead,
            "NUDGE_TWILIO_API_URL": dead,
            "NUDGE_TELEGRAM_API_URL": dead,
            "NUDGE_LOG_LEVEL": "WARNING",
        }
        | env
    )


def _refused(tmp_path: Path, **env: str) -> list[str]:
    """Run `nudge run`, expect it to exit non-zero at once; its stderr lines."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **env),
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in err and done.stdout == b""
    return err.splitlines()


@contextmanager
def _banner(tmp_path: Path, **env: str) -> Iterator[list[str]]:
    """Start `nudge run`; yield the banner's lines (printed before serving); stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not any("console:" in line for line in lines):
            line = process.stdout.readline().decode()
            assert line, "the service exited before its banner: " + "".join(lines)
            lines.append(line)
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def test_live_mode_names_every_unsafe_secret_at_once(tmp_path: Path) -> None:
    lines = _refused(
        tmp_path,
        NUDGE_WHATSAPP_TOKEN="EAAG-real-looking-token",
        NUDGE_TWILIO_ACCOUNT_SID="AC0123456789abcdef0123456789abcdef",
        NUDGE_TELEGRAM_BOT_TOKEN="123456:real-looking-token",
        NUDGE_WHATSAPP_APP_SECRET="sandbox-app-secret",  # the public sandbox value, spelled out
        NUDGE_WHATSAPP_VERIFY_TOKEN="",  # empty used to become the sandbox value
        NUDGE_TWILIO_AUTH_TOKEN="short-token",
        NUDGE_PUBLIC_URL="http://nudge.shop.example",
    )
    expected = {
        "NUDGE_WHATSAPP_APP_SECRET": "sandbox default",
        "NUDGE_WHATSAPP_VERIFY_TOKEN": "unset or empty",
        "NUDGE_TWILIO_AUTH_TOKEN": "shorter than 16 bytes",
        "NUDGE_TELEGRAM_SECRET_TOKEN": "unset or empty",
        "NUDGE_TELEGRAM_LINK_SECRET": "unset or empty",
        "NUDGE_SESSION_SECRET": "unset or empty",
        "NUDGE_PUBLIC_URL": "https://",
    }
    assert len(lines) == len(expected), lines
    for name, why in expected.items():
        [line] = [line for line in lines if f" {name} " in line]
        assert why in line, line


def test_only_configured_providers_need_their_secrets(tmp_path: Path) -> None:
    good = {k: v for k, v in GOOD.items() if "TELEGRAM" not in k}
    lines = _refused(
        tmp_path,
        **good | {"NUDGE_SESSION_SECRET": "", "NUDGE_TWILIO_AUTH_TOKEN": "sandbox-twilio-token"},
        NUDGE_TWILIO_ACCOUNT_SID="AC0123456789abcdef0123456789abcdef",
    )
    assert [line.split()[1] for line in lines] == [
        "NUDGE_TWILIO_AUTH_TOKEN",
        "NUDGE_SESSION_SECRET",
    ]


def test_sandbox_mode_refuses_real_credentials(tmp_path: Path) -> None:
    lines = _refused(
        tmp_path,
        NUDGE_SANDBOX="1",
        NUDGE_WHATSAPP_TOKEN="EAAG-real-looking-token",
        NUDGE_TELEGRAM_BOT_TOKEN="123456:real-looking-token",
        # the providers' real APIs (refused before any call); a loopback fake is accepted
        NUDGE_WHATSAPP_API_URL="",
        NUDGE_TELEGRAM_API_URL="",
    )
    assert len(lines) == 2
    assert "NUDGE_WHATSAPP_TOKEN" in lines[0] and "NUDGE_TELEGRAM_BOT_TOKEN" in lines[1]
    assert all("sandbox mode" in line for line in lines)


def test_live_mode_starts_with_safe_secrets_and_names_live_providers(tmp_path: Path) -> None:
    with _banner(
        tmp_path,
        **GOOD,
        NUDGE_WHATSAPP_TOKEN="EAAG-real-looking-token",
        NUDGE_TELEGRAM_BOT_TOKEN="123456:real-looking-token",
    ) as lines:
        banner = "".join(lines)
    assert "live mode" in banner and "/sandbox/phone" not in banner
    assert "live providers: whatsapp, telegram; not configured: sms" in banner


def test_sandbox_banner_says_the_providers_are_fakes(tmp_path: Path) -> None:
    with _banner(tmp_path, NUDGE_SANDBOX="1") as lines:
        banner = "".join(lines)
    assert "mode: sandbox" in banner and "fakes on loopback" in banner


def test_the_shell_sandbox_refuses_real_credentials(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--no-nlu"],
        cwd=PROJECT_ROOT,
        env=_env(
            tmp_path,
            NUDGE_TWILIO_ACCOUNT_SID="AC0123456789abcdef0123456789abcdef",
            NUDGE_TWILIO_API_URL="",  # Twilio's real API: refused before any call
        ),
        input=b"",
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err
    [line] = err.splitlines()
    assert "NUDGE_TWILIO_ACCOUNT_SID" in line and "sandbox mode" in line


def test_sandbox_accepts_a_token_only_for_a_provider_api_on_loopback() -> None:
    """A benchmark's fake provider on this machine is no real provider: its token is fine in
    sandbox mode; the same token against the real API, or any other host, is refused."""
    from dataclasses import replace

    from bot.modes import startup_problems
    from bot.settings import load_settings

    base = replace(load_settings(), sandbox=True, whatsapp_token="a-real-looking-token")
    for url in ("http://127.0.0.1:9001", "http://localhost:9001", "http://[::1]:9001"):
        assert startup_problems(replace(base, whatsapp_api_url=url)) == []
    for url in ("", "https://graph.facebook.com", "http://10.0.0.5:9001"):
        [problem] = startup_problems(replace(base, whatsapp_api_url=url))
        assert "NUDGE_WHATSAPP_TOKEN" in problem
