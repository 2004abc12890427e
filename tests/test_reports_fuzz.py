"""Property-based fuzzing of the report API against its own OpenAPI spec: never a 500."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
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
def reports_url(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    path = tmp_path_factory.mktemp("reports-fuzz") / "nudge.db"
    shutil.copy(sqlite_template, path)
    app = create_app(
        make_settings(path.parent, f"sqlite+aiosqlite:///{path}"),
        run_nlu=False,
        run_scheduler=False,
    )
    with serve_in_thread(app) as (url, _):
        yield url


@schema.parametrize(endpoint="^/api/v1/reports/")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_report_api_never_fails_on_any_query(case: schemathesis.Case, reports_url: str) -> None:
    response = case.call(base_url=reports_url, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code < 500, response.text
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        # only aiohttp's HTTP parser answers in text, for bytes that are not HTTP at all
        assert response.status_code == 400, response.text
        return
    case.validate_response(
        response,
        checks=(status_code_conformance, content_type_conformance, response_schema_conformance),
    )
