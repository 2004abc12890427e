"""Satisfaction (R-MX4): one 1–5 question when an operator closes a chat, inside the rules."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AUTH
from tests.dialogue_fixtures import conversation, say, shopper, texts

Client = TestClient[Any, Any]
Staff = dict[str, dict[str, str]]
QUESTION = "Оцените, пожалуйста, помощь от 1 до 5"


async def _outbox(client: Client) -> list[dict[str, Any]]:
    response = await client.get("/sandbox/outbox", params={"contact_id": "c1"})
    assert response.status == 200
    items: list[dict[str, Any]] = await response.json()
    return items


async def _escalate_and_close(client: Client, staff: Staff) -> None:
    await say(client, "позовите оператора")
    op = staff["operator"]
    queue = (await (await client.get("/console/api/queue", headers=op)).json())["queue"]
    base = f"/console/api/conversations/{queue[0]['contact_id']}"
    assert (await client.post(f"{base}/claim", headers=op)).status == 200
    reply = await client.post(f"{base}/reply", headers=op, json={"text": "Готово, проверил."})
    assert reply.status == 200, await reply.text()
    closed = await client.post(f"{base}/release", headers=op, json={"to": "closed"})
    assert closed.status == 200, await closed.text()


async def _report(client: Client) -> dict[str, Any]:
    await client.post("/sandbox/clock", json={"advance_seconds": 60})  # the period ends at now
    response = await client.get("/api/v1/reports/recovery", headers=AUTH)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_closing_asks_once_and_records_the_answer(client: Client, staff: Staff) -> None:
    await shopper(client)
    await _escalate_and_close(client, staff)
    asked = [m for m in await _outbox(client) if QUESTION in m["text"]]
    assert len(asked) == 1
    assert [b.split(" ")[0] for b in asked[0]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert (await conversation(client))["state"] == "closed"

    answer = await say(client, "5")
    assert "Спасибо за оценку" in texts(answer)
    again = await say(client, "4")  # the question was answered: a second digit rates nothing
    assert "Спасибо за оценку" not in texts(again)

    groups = {(g["who"], g["operator"]): g for g in (await _report(client))["satisfaction"]}
    assert groups["all", None]["rated"] == 1
    olga = groups["operator", "olga"]
    assert olga["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert olga["csat"]["value"] == 1.0

    # a later chat, escalated and closed again: a new conversation, asked again
    await _escalate_and_close(client, staff)
    assert len([m for m in await _outbox(client) if QUESTION in m["text"]]) == 2


async def test_not_asked_in_the_shoppers_quiet_hours(client: Client, staff: Staff) -> None:
    await shopper(client)
    await client.post("/sandbox/clock", json={"set": "2026-03-02T19:30:00Z"})  # 22:30 Moscow
    await _escalate_and_close(client, staff)
    assert not [m for m in await _outbox(client) if QUESTION in m["text"]]
    timeline = await client.get("/api/v1/contacts/c1/timeline", headers=AUTH)
    entries = (await timeline.json())["entries"]
    [skipped] = [e for e in entries if e["action"] == "not_asked"]
    assert skipped["rule"].startswith("R-MX4") and "R-SR2" in skipped["detail"]["why"]
    answer = await say(client, "5")  # nothing was asked: a digit rates nothing
    assert "Спасибо за оценку" not in texts(answer)


async def test_thanks_after_the_bot_helped_asks_about_the_bot(client: Client) -> None:
    await shopper(client)
    await say(client, "спасибо")  # a thank-you for a touch: the bot has not helped yet
    assert not [m for m in await _outbox(client) if QUESTION in m["text"]]

    await say(client, button="payment")  # the bot answers how to pay
    await say(client, "спасибо")
    assert len([m for m in await _outbox(client) if QUESTION in m["text"]]) == 1
    await say(client, "спасибо!")  # once per conversation: no second question
    assert len([m for m in await _outbox(client) if QUESTION in m["text"]]) == 1

    assert "Спасибо за оценку" in texts(await say(client, "4"))
    groups = {(g["who"], g["operator"]): g for g in (await _report(client))["satisfaction"]}
    assert groups["bot", None]["rated"] == 1
    assert groups["bot", None]["distribution"]["4"] == 1
