"""A real Rasa server for tests: `rasa_url` (session-scoped) and `rasa_classifier`.

Usage in any test: `build_classifier(rasa_url, RASA_TOKEN)` from nlu.classify, or
`make_settings(tmp_path, db_url, nlu_url=rasa_url, nlu_token=RASA_TOKEN)` for a whole app.
With CI=true a missing .venv-rasa or model is a failure; otherwise those tests skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from nlu.classify import LiveClassifier, build_classifier
from nlu.sentence_encoder import encoder_for
from nlu.supervisor import latest_model, rasa_environment, rasa_executable
from nlu.train import current_model, training_hash

IN_CI = os.environ.get("CI", "").lower() == "true"
RASA_TOKEN = "nudge-test-token"
READY_TIMEOUT = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Rasa is required in CI: {reason}")
    pytest.skip(f"{reason} (set CI=true to make this a failure)")


def model_for_tests(root: Path = PROJECT_ROOT) -> Path | None:
    """The model trained from the current data, else the newest one."""
    models = root / "models"
    return current_model(models, training_hash(root)) or latest_model(models)


@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Rasa server (auth token RASA_TOKEN) serving the model in models/."""
    executable = rasa_executable(PROJECT_ROOT)
    if not executable.exists():
        unavailable(f"{executable} is missing (make rasa-venv)")
    model = model_for_tests()
    if model is None:
        unavailable("no trained model in models/ (nudge train)")
    assert model is not None
    port = _free_port()
    log_path = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(executable), "run", "--enable-api", "--interface", "127.0.0.1",
                "--port", str(port), "--auth-token", RASA_TOKEN, "--model", str(model),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env=rasa_environment(),  # telemetry off in tests too
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def tail() -> str:
        return log_path.read_text(errors="replace")[-2000:]

    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"Rasa exited with {process.returncode}: {tail()}")
            try:
                response = httpx.get(f"{url}/status", params={"token": RASA_TOKEN}, timeout=2)
                if response.status_code == 200 and response.json().get("model_file"):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Rasa not ready after {READY_TIMEOUT}s: {tail()}")
            time.sleep(0.5)  # polling a real child process's readiness, not the sandbox clock
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
async def rasa_classifier(rasa_url: str) -> AsyncIterator[LiveClassifier]:
    """The live classification path (rules → Rasa and the English sentence encoder →
    threshold) against `rasa_url`, with the service's default NUDGE_NLU_THRESHOLD."""
    model = model_for_tests()
    encoder = encoder_for(model) if model is not None else None
    if encoder is None:
        unavailable("the model has no sentence encoder beside it (nudge train)")
    classifier = build_classifier(rasa_url, RASA_TOKEN, timeout=10.0, encoder=encoder)
    yield classifier
    await classifier.aclose()
