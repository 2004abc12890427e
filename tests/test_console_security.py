"""Console hardening (R-OP2, R-PS6): login throttling, a bounded password executor,
same-origin state changes, malformed cookies, and which chats an operator may open."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import CLOCK, SESSIONS
from bot.clock import SandboxClock
from bot.settings import Settings
from bot.store.models import Conversation
from handoff.auth import COOKIE, create_operator
from handoff.passwords import PASSWORD_WORKER, PasswordCheckBusy, PasswordWorker
from handoff.throttle import LoginThrottle
from tests.conftest import make_settings
from tests.console_fixtures import OPERATOR, login, same_origin
from tests.dialogue_fixtures import say, shopper

Client = TestClient[Any, Any]
Staff = dict[str, dict[str, str]]


async def _login(client: Client, username: str, password: str, **headers: str) -> Any:
    return await client.post(
        "/console/login",
        data={"username": username, "password": password},
        headers={**same_origin(client), **headers},
        allow_redirects=False,
    )


async def test_sixth_failed_login_is_429_even_with_the_right_password(
    client: Client, staff: Staff
) -> None:
    for _ in range(5):
        assert (await _login(client, OPERATOR[0], "wrong-password")).status == 401
    refused = await _login(client, OPERATOR[0], "wrong-password")
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    right = await _login(client, OPERATOR[0], OPERATOR[1])
    assert right.status == 429 and COOKIE not in right.cookies
    assert "Retry-After" in right.headers


async def test_failures_across_usernames_throttle_the_address(client: Client, staff: Staff) -> None:
    for n in range(5):
        assert (await _login(client, f"nobody{n}", "wrong-password")).status == 401
    assert (await _login(client, OPERATOR[0], OPERATOR[1])).status == 429


def test_throttle_counts_per_username_whatever_the_address_and_forgets_after_the_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for n in range(5):
        assert throttle.retry_after([f"ip:10.0.0.{n}", "user:olga"]) is None
        throttle.record_failure([f"ip:10.0.0.{n}", "user:olga"])
    assert throttle.retry_after(["ip:10.9.9.9", "user:olga"]) == 900
    assert throttle.retry_after(["ip:10.9.9.9", "user:pavel"]) is None
    now[0] += 600
    assert throttle.retry_after(["ip:10.9.9.9", "user:olga"]) == 300
    now[0] += 301
    assert throttle.retry_after(["ip:10.9.9.9", "user:olga"]) is None


async def test_a_login_flood_waits_on_its_own_executor_and_the_service_answers(
    client: Client, staff: Staff
) -> None:
    gate = threading.Event()
    # hold both password threads, so every login of the flood stays in flight
    holders = [asyncio.ensure_future(PASSWORD_WORKER.run(gate.wait)) for _ in range(2)]
    try:
        logins = [
            asyncio.ensure_future(_login(client, f"flood{n}", "wrong-password")) for n in range(50)
        ]
        for finished, throttled in enumerate(asyncio.as_completed(logins), start=1):
            await throttled
            if finished == 45:
                break
        # the loop, the database and the shared default executor are all free meanwhile
        health = await client.get("/health")
        assert health.status == 200
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, lambda: "free") == "free"
        assert sum(not task.done() for task in logins) == 5  # still waiting for the hasher
    finally:
        gate.set()
        await asyncio.gather(*holders)
    statuses = sorted([(await task).status for task in logins])
    assert statuses == [401] * 5 + [429] * 45


async def test_password_checks_beyond_the_waiting_line_are_refused_at_once() -> None:
    worker = PasswordWorker(workers=1, max_waiting=1)
    gate = threading.Event()
    first = asyncio.ensure_future(worker.run(gate.wait))
    second = asyncio.ensure_future(worker.run(lambda: "second"))
    await asyncio.sleep(0)
    with pytest.raises(PasswordCheckBusy):
        await worker.run(lambda: "third")
    gate.set()
    assert await first is True and await second == "second"


async def test_session_cookie_is_secure_outside_sandbox(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: SandboxClock
) -> None:
    settings = replace(make_settings(tmp_path, db_url), sandbox=False)
    live: Client = await aiohttp_client(
        create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    )
    await create_operator(live.app[SESSIONS], *OPERATOR, "operator", live.app[CLOCK].now())
    response = await _login(live, *OPERATOR)
    assert response.status == 302
    assert "Secure" in response.headers["Set-Cookie"]


async def test_sandbox_session_cookie_over_plain_http_is_not_secure(
    client: Client, staff: Staff
) -> None:
    await create_operator(
        client.app[SESSIONS], "pavel", "pavel-pass-1", "operator", client.app[CLOCK].now()
    )
    response = await _login(client, "pavel", "pavel-pass-1")
    assert response.status == 302 and "Secure" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {},
    ],
)
async def test_cross_site_state_changes_are_refused(
    client: Client, staff: Staff, headers: dict[str, str]
) -> None:
    op = {k: v for k, v in staff["operator"].items() if k not in ("Origin",)} | headers
    claim = await client.post("/console/api/conversations/1/claim", headers=op)
    assert claim.status == 403 and "refused" in (await claim.json())["error"]
    logout = await client.post("/console/logout", headers=op, allow_redirects=False)
    assert logout.status == 403
    login_from_elsewhere = await client.post(
        "/console/login",
        data={"username": OPERATOR[0], "password": OPERATOR[1]},
        headers=headers,
        allow_redirects=False,
    )
    assert login_from_elsewhere.status == 403 and COOKIE not in login_from_elsewhere.cookies


async def test_same_origin_by_fetch_metadata_or_public_url_is_accepted(
    aiohttp_client: Any, settings: Settings, clock: SandboxClock
) -> None:
    public = replace(settings, public_url="https://shop.example")
    client: Client = await aiohttp_client(
        create_app(public, clock=clock, run_nlu=False, run_scheduler=False)
    )
    await create_operator(client.app[SESSIONS], *OPERATOR, "operator", client.app[CLOCK].now())
    op = {k: v for k, v in (await login(client, *OPERATOR)).items() if k != "Origin"}
    path = "/console/api/conversations/1/claim"
    by_fetch_site = await client.post(path, headers=op | {"Sec-Fetch-Site": "same-origin"})
    assert by_fetch_site.status == 404  # past the origin check: there is no such chat
    by_public_url = await client.post(path, headers=op | {"Origin": "https://shop.example"})
    assert by_public_url.status == 404
    other_scheme = await client.post(path, headers=op | {"Origin": "http://shop.example"})
    assert other_scheme.status == 403


async def test_state_changing_api_requests_must_be_json(client: Client, staff: Staff) -> None:
    op = staff["operator"] | {"Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post(
        "/console/api/conversations/1/release", headers=op, data="to=closed"
    )
    assert response.status == 415
    plain = staff["operator"] | {"Content-Type": "text/plain"}
    assert (await client.post("/console/api/operators/2/disable", headers=plain)).status in (
        403,
        415,
    )


@pytest.mark.parametrize(
    "cookie",
    ["1.2.é", "ключ.подпись.тут", "é", "a" * 5000, "..", "eyJ.x.y"],
)
async def test_malformed_cookies_are_401_not_500(client: Client, cookie: str) -> None:
    headers = {"Cookie": f"{COOKIE}={cookie}".encode().decode("latin-1")}
    api = await client.get("/console/api/me", headers=headers)
    assert api.status == 401
    page = await client.get("/console", headers=headers, allow_redirects=False)
    assert page.status == 302


async def _contact_ids(client: Client) -> list[int]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(Conversation.contact_id))).all())


async def _second_operator(client: Client) -> dict[str, str]:
    await create_operator(
        client.app[SESSIONS], "pavel", "pavel-pass-1", "operator", client.app[CLOCK].now()
    )
    return await login(client, "pavel", "pavel-pass-1")


async def test_operators_open_only_chats_escalated_to_the_queue(
    client: Client, staff: Staff
) -> None:
    await shopper(client)
    await say(client, button="delivery_help")
    [contact_id] = await _contact_ids(client)
    path = f"/console/api/conversations/{contact_id}"
    assert (await conversation_state(client)) == "bot"
    assert (await client.get(path, headers=staff["operator"])).status == 403
    assert (await client.get(path, headers=staff["admin"])).status == 200
    await say(client, "позовите оператора")
    assert (await client.get(path, headers=staff["operator"])).status == 200  # queued
    pavel = await _second_operator(client)
    assert (await client.post(f"{path}/claim", headers=pavel)).status == 200
    assert (await client.get(path, headers=staff["operator"])).status == 200  # held, in queue
    assert (
        await client.post(f"{path}/release", headers=pavel, json={"to": "closed"})
    ).status == 200
    assert (await client.get(path, headers=pavel)).status == 200  # their own chat
    assert (await client.get(path, headers=staff["operator"])).status == 403  # someone else's


async def test_operators_release_and_close_only_their_own_chats(
    client: Client, staff: Staff
) -> None:
    await shopper(client)
    await say(client, "позовите оператора")
    [contact_id] = await _contact_ids(client)
    path = f"/console/api/conversations/{contact_id}"
    op = staff["operator"]
    unclaimed = await client.post(f"{path}/release", headers=op, json={"to": "closed"})
    assert unclaimed.status == 403
    pavel = await _second_operator(client)
    assert (await client.post(f"{path}/claim", headers=pavel)).status == 200
    for to in ("bot", "closed"):
        refused = await client.post(f"{path}/release", headers=op, json={"to": to})
        assert refused.status == 403
    assert await conversation_state(client) == "operator"
    admin = await client.post(f"{path}/release", headers=staff["admin"], json={"to": "closed"})
    assert admin.status == 200 and await conversation_state(client) == "closed"


async def conversation_state(client: Client) -> str:
    response = await client.get("/sandbox/conversations/c1")
    state: str = (await response.json())["state"]
    return state
