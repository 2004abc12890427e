"""Console pages and APIs refuse anyone not logged in; operators cannot do admin actions."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.console_fixtures import OPERATOR, login, same_origin

Client = TestClient[Any, Any]

PAGES = ["/console", "/console/admin", "/console/static/console.js"]
APIS = [
    ("GET", "/console/api/me"),
    ("GET", "/console/api/queue"),
    ("GET", "/console/api/stream"),
    ("GET", "/console/api/conversations/1"),
    ("POST", "/console/api/conversations/1/claim"),
    ("POST", "/console/api/conversations/1/reply"),
    ("POST", "/console/api/conversations/1/release"),
    ("GET", "/console/api/operators"),
    ("POST", "/console/api/operators"),
    ("POST", "/console/api/operators/1/disable"),
]


async def test_pages_redirect_to_the_login_when_not_logged_in(client: Client) -> None:
    for path in PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"] == "/console/login"


@pytest.mark.parametrize("cookie", [None, "1.9999999999.forged", "garbage"])
async def test_apis_answer_401_without_a_valid_session(client: Client, cookie: str | None) -> None:
    headers = {"Cookie": f"nudge_session={cookie}"} if cookie else {}
    for method, path in APIS:
        response = await client.request(method, path, headers=headers, json={})
        assert response.status == 401, (method, path)


async def test_operators_cannot_do_admin_actions(
    client: Client, staff: dict[str, dict[str, str]]
) -> None:
    op = staff["operator"]
    assert (await client.get("/console/api/operators", headers=op)).status == 403
    created = await client.post(
        "/console/api/operators", headers=op, json={"username": "x1", "password": "longenough1"}
    )
    assert created.status == 403
    assert (await client.post("/console/api/operators/1/disable", headers=op)).status == 403
    page = await client.get("/console/admin", headers={"Cookie": op["Cookie"]})
    assert page.status == 403
    assert (await client.get("/console/api/queue", headers=op)).status == 200


async def test_admin_creates_and_disables_an_operator_who_then_cannot_log_in(
    client: Client, staff: dict[str, dict[str, str]]
) -> None:
    admin = staff["admin"]
    created = await client.post(
        "/console/api/operators",
        headers=admin,
        json={"username": "pavel", "password": "pavel-pass-1", "role": "operator"},
    )
    assert created.status == 201
    new_id = (await created.json())["id"]
    pavel = await login(client, "pavel", "pavel-pass-1")
    assert (await client.get("/console/api/me", headers=pavel)).status == 200
    taken = await client.post(
        "/console/api/operators", headers=admin, json={"username": "pavel", "password": "x" * 9}
    )
    assert taken.status == 409
    short = await client.post(
        "/console/api/operators", headers=admin, json={"username": "p2", "password": "short"}
    )
    assert short.status == 422 and "8 characters" in (await short.json())["error"]
    assert (
        await client.post(f"/console/api/operators/{new_id}/disable", headers=admin)
    ).status == 200
    # the disabled account's session stops working at once, and it cannot log in again
    assert (await client.get("/console/api/me", headers=pavel)).status == 401
    refused = await client.post(
        "/console/login", data={"username": "pavel", "password": "pavel-pass-1"},
        headers=same_origin(client), allow_redirects=False,
    )  # fmt: skip
    assert refused.status == 401


async def test_wrong_password_is_refused_and_passwords_are_argon2id(
    client: Client, staff: dict[str, dict[str, str]]
) -> None:
    refused = await client.post(
        "/console/login",
        data={"username": OPERATOR[0], "password": "nope"},
        headers=same_origin(client),
        allow_redirects=False,
    )
    assert refused.status == 401 and "Wrong username or password" in await refused.text()
    from sqlalchemy import select

    from bot.app_keys import SESSIONS
    from bot.store.models import Operator

    async with client.app[SESSIONS]() as session:
        hashes = (await session.scalars(select(Operator.password_hash))).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(OPERATOR[1] not in h for h in hashes)


async def test_logout_clears_the_session_cookie(
    client: Client, staff: dict[str, dict[str, str]]
) -> None:
    response = await client.post(
        "/console/logout", headers=staff["operator"], allow_redirects=False
    )
    assert response.status == 302 and response.headers["Location"] == "/console/login"
    assert response.cookies["nudge_session"].value == ""
