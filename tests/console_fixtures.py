"""Operator accounts and logged-in headers for console tests."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app_keys import CLOCK, SESSIONS
from handoff.auth import COOKIE, create_operator

ADMIN = ("root", "admin-pass-123")
OPERATOR = ("olga", "operator-pass-123")


def same_origin(client: TestClient[Any, Any]) -> dict[str, str]:
    """The Origin header a browser sends with a POST from the console's own pages."""
    return {"Origin": f"http://{client.host}:{client.port}"}


async def login(client: TestClient[Any, Any], username: str, password: str) -> dict[str, str]:
    """Log in through the form; return the headers of that session's API requests."""
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password},
        headers=same_origin(client),
        allow_redirects=False,
    )
    assert response.status == 302, await response.text()
    assert response.headers["Location"] == "/console"
    value = response.cookies[COOKIE].value
    client.session.cookie_jar.clear()
    return {
        "Cookie": f"{COOKIE}={value}",
        "Accept": "application/json",
        "Content-Type": "application/json",
        **same_origin(client),
    }


@pytest.fixture
async def staff(client: TestClient[Any, Any]) -> dict[str, dict[str, str]]:
    """An admin and an operator, logged in: role → headers."""
    sessions, now = client.app[SESSIONS], client.app[CLOCK].now()
    await create_operator(sessions, ADMIN[0], ADMIN[1], "admin", now)
    await create_operator(sessions, OPERATOR[0], OPERATOR[1], "operator", now)
    return {
        "admin": await login(client, *ADMIN),
        "operator": await login(client, *OPERATOR),
    }
