"""The console's JSON API: queue, one chat, claim, reply, give back; operators for admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app_keys import CLOCK, INBOX, OUTBOUND, SATISFACTION, SESSIONS
from bot.audit import audit
from bot.channels.base import Button, OutboundMessage
from bot.safejson import read_json
from bot.store.models import Contact, Conversation, Operator
from handoff.auth import OperatorError, OperatorIdentity, create_operator, operator_of, requires
from handoff.queue import OPERATOR_STATES, QueueError, claim, release
from handoff.web import views
from handoff.web.live import notify

MAX_REPLY = 4096
WHATSAPP_WINDOW = timedelta(hours=24)


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _contact_id(request: web.Request) -> int:
    raw = request.match_info["contact_id"]
    if not raw.isdigit():
        raise web.HTTPNotFound(text="no such conversation")
    return int(raw)


async def _json(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise web.HTTPUnprocessableEntity(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


def may_open(me: OperatorIdentity, conversation: Conversation) -> bool:
    """An operator opens chats in the queue (waiting or held) and chats they held; admins any."""
    return (
        me.role == "admin"
        or conversation.state in OPERATOR_STATES
        or conversation.operator_id == me.id
    )


def may_release(me: OperatorIdentity, conversation: Conversation) -> bool:
    """An operator gives back or closes only a chat they hold; admins any."""
    if me.role == "admin":
        return True
    return conversation.state == "operator" and conversation.operator_id == me.id


async def _conversation(session: AsyncSession, contact_id: int) -> Conversation | None:
    statement = select(Conversation).where(Conversation.contact_id == contact_id)
    row: Conversation | None = await session.scalar(statement)
    return row


@requires("operator")
async def get_me(request: web.Request) -> web.Response:
    me = operator_of(request)
    return web.json_response({"id": me.id, "username": me.username, "role": me.role})


@requires("operator")
async def get_queue(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        items = await views.queue(session, request.app[CLOCK].now())
    return web.json_response({"queue": items})


@requires("operator")
async def get_conversation(request: web.Request) -> web.Response:
    contact_id = _contact_id(request)
    async with request.app[SESSIONS]() as session:
        conversation = await _conversation(session, contact_id)
        if conversation is None:
            return _error("no such conversation", 404)
        if not may_open(operator_of(request), conversation):
            return _error("this chat was not escalated to the operators' queue", 403)
        item = await views.detail(session, contact_id, request.app[CLOCK].now())
    if item is None:
        return _error("no such conversation", 404)
    return web.json_response(item)


@requires("operator")
async def post_claim(request: web.Request) -> web.Response:
    contact_id = _contact_id(request)
    me = operator_of(request)
    try:
        async with request.app[SESSIONS].begin() as session:
            if await session.get(Contact, contact_id) is None:
                return _error("no such conversation", 404)
            await claim(session, contact_id, me.id, request.app[CLOCK].now())
    except QueueError as exc:
        return _error(str(exc), 409)
    notify(request.app)
    return web.json_response({"state": "operator", "operator": me.username})


@requires("operator")
async def post_release(request: web.Request) -> web.Response:
    contact_id = _contact_id(request)
    body = await _json(request)
    to = body.get("to", "bot")
    if to not in ("bot", "closed"):
        return _error('to must be "bot" or "closed"', 422)
    me = operator_of(request)
    async with request.app[SESSIONS].begin() as session:
        row = await _conversation(session, contact_id)
        if row is None:
            return _error("no such conversation", 404)
        if not may_release(me, row):
            return _error("only the operator holding this chat (or an admin) may release it", 403)
        await release(session, contact_id, me.id, to, request.app[CLOCK].now())
    if to == "closed":
        await request.app[SATISFACTION].after_close(contact_id, me.id)
    notify(request.app)
    return web.json_response({"state": to})


def _buttons(raw: Any) -> tuple[Button, ...]:
    """Quick replies: titles, or {title, payload}; at most 3, each 1–20 characters."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 3:
        raise ValueError("quick_replies must be a list of at most 3")
    out = []
    for item in raw:
        title, payload = (item, item) if isinstance(item, str) else (None, None)
        if isinstance(item, dict):
            title, payload = item.get("title"), item.get("payload") or item.get("title")
        if not isinstance(title, str) or not 0 < len(title.strip()) <= 20:
            raise ValueError("each quick reply needs a title of 1–20 characters")
        out.append(Button(str(payload).strip(), title.strip()))
    return tuple(out)


@requires("operator")
async def post_reply(request: web.Request) -> web.Response:
    """Send the operator's text (and quick replies) on the channel the shopper wrote from."""
    contact_id = _contact_id(request)
    body = await _json(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error("text is required", 422)
    if len(text) > MAX_REPLY:
        return _error(f"text is longer than {MAX_REPLY} characters", 422)
    try:
        buttons = _buttons(body.get("quick_replies"))
    except ValueError as exc:
        return _error(str(exc), 422)
    me = operator_of(request)
    now = request.app[CLOCK].now()
    async with request.app[SESSIONS].begin() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.contact_id == contact_id)
        )
        contact = await session.get(Contact, contact_id)
        if conversation is None or contact is None:
            return _error("no such conversation", 404)
        if conversation.state != "operator" or conversation.operator_id != me.id:
            return _error("claim the chat before answering", 409)
        channel = conversation.last_channel
        last_in = conversation.last_inbound_at
        if channel is None or last_in is None:
            return _error("the shopper has not written yet", 409)
        if channel == "whatsapp" and now - last_in > WHATSAPP_WINDOW:
            return _error("outside WhatsApp's 24-hour window: only templates may be sent", 409)
        if conversation.first_operator_reply_at is None:
            conversation.first_operator_reply_at = now
        conversation.updated_at = now
        audit(
            session,
            at=now,
            action="operator_reply",
            contact_id=contact_id,
            rule="R-OP1",
            detail={"operator": me.username, "text": text, "buttons": [b.title for b in buttons]},
        )
    language = contact.language or "ru"
    message = OutboundMessage(text=text.strip(), buttons=buttons, language=language)
    sent = await request.app[OUTBOUND].send(contact, channel, message, author=me.username)  # type: ignore[arg-type]
    notify(request.app)
    return web.json_response(
        {"message_id": sent.message_id, "outcome": sent.result.outcome, "channel": channel}
    )


@requires("admin")
async def get_operators(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        rows = (await session.scalars(select(Operator).order_by(Operator.id))).all()
    return web.json_response(
        {
            "operators": [
                {"id": r.id, "username": r.username, "role": r.role, "disabled": r.disabled}
                for r in rows
            ]
        }
    )


@requires("admin")
async def post_operator(request: web.Request) -> web.Response:
    body = await _json(request)
    username, password = body.get("username"), body.get("password")
    role = body.get("role", "operator")
    if not isinstance(username, str) or not isinstance(password, str):
        return _error("username and password are required", 422)
    try:
        new_id = await create_operator(
            request.app[SESSIONS], username.strip(), password, str(role), request.app[CLOCK].now()
        )
    except OperatorError as exc:
        status = 409 if "taken" in str(exc) else 422
        return _error(str(exc), status)
    return web.json_response({"id": new_id, "username": username.strip(), "role": role}, status=201)


@requires("admin")
async def post_operator_state(request: web.Request) -> web.Response:
    raw = request.match_info["operator_id"]
    disabled = request.match_info["action"] == "disable"
    if not raw.isdigit():
        return _error("no such operator", 404)
    if disabled and int(raw) == operator_of(request).id:
        return _error("you cannot disable yourself", 409)
    async with request.app[SESSIONS].begin() as session:
        result = await session.execute(
            update(Operator).where(Operator.id == int(raw)).values(disabled=disabled)
        )
        if not getattr(result, "rowcount", 0):
            return _error("no such operator", 404)
        if disabled:  # their chats go back to the queue
            held = (Conversation.operator_id == int(raw)) & Conversation.state.in_(OPERATOR_STATES)
            now = request.app[CLOCK].now()
            await session.execute(
                update(Conversation)
                .where(held)
                .values(state="waiting_operator", operator_id=None, updated_at=now)
            )
    notify(request.app)
    return web.json_response({"id": int(raw), "disabled": disabled})


@requires("admin")
async def get_dead_letters(request: web.Request) -> web.Response:
    """Inbound webhooks given up after their last attempt, newest first (no payloads)."""
    inbox = request.app.get(INBOX)
    letters = await inbox.ledger.dead_letters() if inbox is not None else []
    count = await inbox.dead_letters() if inbox is not None else 0
    return web.json_response({"count": count, "dead_letters": letters})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/api/me", get_me)
    r.add_get("/console/api/queue", get_queue)
    r.add_get("/console/api/conversations/{contact_id}", get_conversation)
    r.add_post("/console/api/conversations/{contact_id}/claim", post_claim)
    r.add_post("/console/api/conversations/{contact_id}/reply", post_reply)
    r.add_post("/console/api/conversations/{contact_id}/release", post_release)
    r.add_get("/console/api/operators", get_operators)
    r.add_post("/console/api/operators", post_operator)
    r.add_post("/console/api/operators/{operator_id}/{action:disable|enable}", post_operator_state)
    r.add_get("/console/api/inbox/dead-letters", get_dead_letters)
