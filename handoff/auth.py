"""Operator accounts and console sessions: Argon2id passwords, HMAC-signed cookies, roles.

Session expiry reads wall time on purpose: it is security, not a shopper-facing rule, and
must not move with the sandbox clock.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app_keys import CLOCK, SESSIONS, SETTINGS
from bot.store.db import SessionFactory
from bot.store.models import Operator

log = logging.getLogger(__name__)

Role = Literal["operator", "admin"]
ROLES: tuple[Role, ...] = ("operator", "admin")
COOKIE = "nudge_session"
SESSION_TTL_SECONDS = 12 * 3600
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_SECRET = web.AppKey("session_secret", bytes)
_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id


class OperatorError(ValueError):
    """An operator account request that cannot be done; the message says why."""


@dataclass(frozen=True)
class OperatorIdentity:
    id: int
    username: str
    role: str


async def hash_password(password: str) -> str:
    # Argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(None, check)


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
    if row is None:
        await hash_password(password)  # same cost whether or not the name exists
        return None
    if row.disabled or not await verify_password(row.password_hash, password):
        return None
    return OperatorIdentity(int(row.id), row.username, row.role)


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_cookie(secret: bytes, operator_id: int, now_epoch: float | None = None) -> str:
    expires = int((now_epoch if now_epoch is not None else time.time()) + SESSION_TTL_SECONDS)
    payload = f"{operator_id}.{expires}"
    return f"{payload}.{_sign(secret, payload)}"


def read_cookie(secret: bytes, value: str | None) -> int | None:
    """The operator id of a valid, unexpired cookie, else None."""
    if not value or value.count(".") != 2:
        return None
    operator_id, expires, signature = value.split(".")
    if not hmac.compare_digest(_sign(secret, f"{operator_id}.{expires}"), signature):
        return None
    if not (operator_id.isdigit() and expires.isdigit()) or int(expires) < time.time():
        return None
    return int(operator_id)


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


async def post_login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    identity = await authenticate(request.app[SESSIONS], username, password) if username else None
    if identity is None:
        log.info("console login refused")
        page = _LOGIN_PAGE.format(error='<p class="error">Wrong username or password.</p>')
        return web.Response(text=page, content_type="text/html", status=401)
    response = web.Response(status=302, headers={"Location": "/console"})
    response.set_cookie(
        COOKIE,
        make_cookie(request.app[SESSION_SECRET], identity.id),
        max_age=SESSION_TTL_SECONDS,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request.secure,
    )
    log.info("operator %s logged in", identity.id)
    return response


async def post_logout(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=302, headers={"Location": "/console/login"})
    response.del_cookie(COOKIE, path="/")
    return response


def setup_auth(app: web.Application) -> None:
    """The session secret and the login/logout routes."""
    configured = app[SETTINGS].session_secret
    app[SESSION_SECRET] = configured.encode() if configured else secrets.token_bytes(32)
    app.router.add_get("/console/login", get_login)
    app.router.add_post("/console/login", post_login)
    app.router.add_post("/console/logout", post_logout)


def clock_now(request: web.Request) -> datetime:
    return request.app[CLOCK].now()
