"""Operator accounts and console sessions: Argon2id passwords, signed cookies, roles.

Session expiry reads wall time on purpose: it is security, not a shopper-facing rule, and
must not move with the sandbox clock.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiohttp import web
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app_keys import CLOCK, SESSIONS, SETTINGS
from bot.store.db import SessionFactory
from bot.store.models import Operator
from handoff.origin import cross_site_problem, json_body_problem
from handoff.passwords import PasswordCheckBusy, hash_password, verify_password
from handoff.throttle import LOGIN_THROTTLE, LoginThrottle, login_keys

log = logging.getLogger(__name__)

Role = Literal["operator", "admin"]
ROLES: tuple[Role, ...] = ("operator", "admin")
COOKIE = "nudge_session"
SESSION_TTL_SECONDS = 12 * 3600
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_SECRET = web.AppKey("session_secret", bytes)
_COOKIE_SALT = "nudge-console-session"


class OperatorError(ValueError):
    """An operator account request that cannot be done; the message says why."""


@dataclass(frozen=True)
class OperatorIdentity:
    id: int
    username: str
    role: str


def check_new_account(username: str, password: str, role: str) -> None:
    if not USERNAME.match(username):
        raise OperatorError("username: 2–64 letters, digits or _.@-")
    if role not in ROLES:
        raise OperatorError(f"role must be operator or admin, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"password must have at least {MIN_PASSWORD} characters")


async def create_operator(
    sessions: SessionFactory, username: str, password: str, role: str, now: datetime
) -> int:
    """Create a console account; raise OperatorError for a bad or taken username."""
    check_new_account(username, password, role)
    password_hash = await hash_password(password)
    try:
        async with sessions.begin() as session:
            row = Operator(
                username=username,
                password_hash=password_hash,
                role=role,
                disabled=False,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            return int(row.id)
    except IntegrityError as exc:
        raise OperatorError(f"username {username!r} is taken") from exc


async def authenticate(
    sessions: SessionFactory, username: str, password: str
) -> OperatorIdentity | None:
    async with sessions() as session:
        row = await session.scalar(select(Operator).where(Operator.username == username))
    # same cost whether or not the name exists
    if not await verify_password(row.password_hash if row else None, password):
        return None
    if row is None or row.disabled:
        return None
    return OperatorIdentity(int(row.id), row.username, row.role)


def _serializer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_COOKIE_SALT)


def make_cookie(secret: bytes, operator_id: int) -> str:
    return _serializer(secret).dumps(operator_id)


def read_cookie(secret: bytes, value: str | None) -> int | None:
    """The operator id of a validly signed, unexpired cookie, else None (never raises)."""
    if not value:
        return None
    try:
        operator_id = _serializer(secret).loads(value, max_age=SESSION_TTL_SECONDS)
    except (BadData, UnicodeError, ValueError):
        return None
    return operator_id if type(operator_id) is int and operator_id > 0 else None


async def current_operator(request: web.Request) -> OperatorIdentity | None:
    """The logged-in, enabled operator of this request (looked up on every request)."""
    cached = request.get("operator")
    if isinstance(cached, OperatorIdentity):
        return cached
    operator_id = read_cookie(request.app[SESSION_SECRET], request.cookies.get(COOKIE))
    if operator_id is None:
        return None
    async with request.app[SESSIONS]() as session:
        row = await session.get(Operator, operator_id)
    if row is None or row.disabled:
        return None
    identity = OperatorIdentity(int(row.id), row.username, row.role)
    request["operator"] = identity
    return identity


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(("/console/api/", "/api/")) or request.headers.get(
        "Accept", ""
    ).startswith("application/json")


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Guard an aiohttp handler: pages redirect to the login, APIs answer 401; wrong role 403.

    An admin may do everything an operator may.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            identity = await current_operator(request)
            if identity is None:
                if _is_api(request):
                    return web.json_response({"error": "log in first"}, status=401)
                raise web.HTTPFound("/console/login")
            if role == "admin" and identity.role != "admin":
                if _is_api(request):
                    return web.json_response({"error": "admins only"}, status=403)
                raise web.HTTPForbidden(text="admins only")
            problem = cross_site_problem(request)
            if problem is not None:
                return web.json_response({"error": problem}, status=403)
            problem = json_body_problem(request)
            if problem is not None:
                return web.json_response({"error": problem}, status=415)
            return await handler(request)

        return guarded

    return decorate


def operator_of(request: web.Request) -> OperatorIdentity:
    """The operator a `requires(...)` guard let through."""
    identity = request.get("operator")
    if not isinstance(identity, OperatorIdentity):
        raise web.HTTPUnauthorized(text="log in first")
    return identity


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nudge console — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;
justify-content:center;padding-top:10vh}}form{{background:#fff;padding:2em;border-radius:8px;
box-shadow:0 1px 4px #0002;display:flex;flex-direction:column;gap:.7em;min-width:280px}}
.error{{color:#b00020}}</style></head>
<body><form method="post" action="/console/login">
<h1>Nudge console</h1>{error}
<label>Username <input name="username" id="username" autocomplete="username" required></label>
<label>Password <input name="password" id="password" type="password"
 autocomplete="current-password" required></label>
<button type="submit" id="login">Log in</button></form></body></html>"""


async def get_login(request: web.Request) -> web.Response:
    return web.Response(text=_LOGIN_PAGE.format(error=""), content_type="text/html")


def _login_page(message: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    page = _LOGIN_PAGE.format(error=f'<p class="error">{message}</p>')
    return web.Response(text=page, content_type="text/html", status=status, headers=headers)


async def post_login(request: web.Request) -> web.StreamResponse:
    problem = cross_site_problem(request)
    if problem is not None:
        return _login_page("This login did not come from the console's own page.", 403)
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    throttle = request.app[LOGIN_THROTTLE]
    keys = login_keys(request, username)
    wait = throttle.retry_after(keys)
    if wait is not None:
        log.warning("console login throttled after repeated failures")
        minutes = max(1, wait // 60)
        return _login_page(
            f"Too many failed logins. Try again in {minutes} min.",
            429,
            {"Retry-After": str(wait)},
        )
    throttle.record_failure(keys)  # counted before the check, so parallel tries cannot slip past
    try:
        identity = await authenticate(request.app[SESSIONS], username, password)
    except PasswordCheckBusy:
        throttle.forgive(keys)
        return _login_page("The console is busy. Try again.", 503, {"Retry-After": "1"})
    if identity is None:
        log.info("console login refused")
        return _login_page("Wrong username or password.", 401)
    throttle.forgive(keys)
    response = web.Response(status=302, headers={"Location": "/console"})
    response.set_cookie(
        COOKIE,
        make_cookie(request.app[SESSION_SECRET], identity.id),
        max_age=SESSION_TTL_SECONDS,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request.secure or not request.app[SETTINGS].sandbox,
    )
    log.info("operator %s logged in", identity.id)
    return response


async def post_logout(request: web.Request) -> web.StreamResponse:
    problem = cross_site_problem(request)
    if problem is not None:
        raise web.HTTPForbidden(text=problem)
    response = web.Response(status=302, headers={"Location": "/console/login"})
    response.del_cookie(COOKIE, path="/")
    return response


def setup_auth(app: web.Application) -> None:
    """The session secret, the login throttle and the login/logout routes."""
    configured = app[SETTINGS].session_secret
    app[SESSION_SECRET] = configured.encode() if configured else secrets.token_bytes(32)
    app[LOGIN_THROTTLE] = LoginThrottle()
    app.router.add_get("/console/login", get_login)
    app.router.add_post("/console/login", post_login)
    app.router.add_post("/console/logout", post_logout)


def clock_now(request: web.Request) -> datetime:
    return request.app[CLOCK].now()
