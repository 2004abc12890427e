"""Property-based fuzzing of every /api/v1 endpoint against its own OpenAPI spec: never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.api.openapi import build_spec
from bot.app import create_app
from tests.conftest import API_KEY, make_settings
from tests.live_server import serve_in_thread

schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_dict(
    build_spec(),
    data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
)


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    import shutil

    path = tmp_path_factory.mktemp("fuzz") / "nudge.db"
    shutil.copy(sqlite_template, path)
    app = create_app(
        make_settings(path.parent, f"sqlite+aiosqlite:///{path}"),
        run_nlu=False,
        run_scheduler=False,
    )
    with serve_in_thread(app) as (url, _):
        yield url


@schema.parametrize(endpoint="^/api/v1/")
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_on_any_input(case: schemathesis.Case, live_url: str) -> None:
    response = case.call(base_url=live_url, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code < 500, response.text
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        # only aiohttp's HTTP parser answers in text, for bytes that are not HTTP at all
        assert response.status_code == 400 and "Invalid" in response.text, response.text
        return
    case.validate_response(
        response,
        checks=(status_code_conformance, content_type_conformance, response_schema_conformance),
    )


def test_raw_garbage_bodies_are_4xx(live_url: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    bodies = [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe",
        b'{"events": null}',
        b'{"events": []}',
        b'{"type": "checkout.updated"}',
        b'"x"',
        b"1e999999",
        b'{"events": {}}',
    ]
    for body in bodies:
        response = requests.post(
            f"{live_url}/api/v1/events", data=body, headers=headers, timeout=10
        )
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)


def test_batch_of_garbage_reports_each_item(live_url: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    batch = {"events": [[], None, "x", {"id": "only-id"}]}
    response = requests.post(f"{live_url}/api/v1/events", json=batch, headers=headers, timeout=10)
    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 4
    assert results[3]["id"] == "only-id" and results[3]["error"].startswith("type:")
