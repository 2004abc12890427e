"""The operator's path through the console API: queue → claim → reply → give back (R-OP1)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.dialogue_fixtures import conversation, say, shopper, texts
from tests.factory import PHONE

Client = TestClient[Any, Any]
Staff = dict[str, dict[str, str]]


async def _queue(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/console/api/queue", headers=headers)
    assert response.status == 200
    body = await response.json()
    queue: list[dict[str, Any]] = body["queue"]
    return queue


async def _outbox(client: Client) -> list[dict[str, Any]]:
    response = await client.get("/sandbox/outbox", params={"contact_id": "c1"})
    assert response.status == 200
    items: list[dict[str, Any]] = await response.json()
    return items


async def test_queue_shows_reason_waiting_time_and_minimal_context(
    client: Client, staff: Staff
) -> None:
    await shopper(client)
    await say(client, "Деньги списали, а заказа нет")
    await client.post("/sandbox/clock", json={"advance_seconds": 150})
    op = staff["operator"]
    response = await client.get("/console/api/queue", headers=op)
    raw = await response.text()
    assert PHONE not in raw  # operators never see a full phone number
    [item] = (await response.json())["queue"]
    assert item["reason"] == "money_charged_no_order"
    assert item["waiting_seconds"] == 150
    assert item["first_name"] == "Anna" and item["phone"] == "+7***567"
    assert item["checkout"] == {**item["checkout"], "item": "Кроссовки Run 2", "stage": "payment"}
    assert item["checkout"]["total"] == "6860.00"
    chat = await (
        await client.get(f"/console/api/conversations/{item['contact_id']}", headers=op)
    ).json()
    assert [m["direction"] for m in chat["messages"]][-2:] == ["in", "out"]
    assert chat["messages"][-2]["text"] == "Деньги списали, а заказа нет"
    assert PHONE not in str(chat)


async def test_claim_reply_with_quick_replies_and_return_to_the_bot(
    client: Client, staff: Staff
) -> None:
    await shopper(client)
    await say(client, "позовите оператора")
    op = staff["operator"]
    [item] = await _queue(client, op)
    base = f"/console/api/conversations/{item['contact_id']}"
    early = await client.post(f"{base}/reply", headers=op, json={"text": "Здравствуйте"})
    assert early.status == 409 and "claim" in (await early.json())["error"]
    assert (await client.post(f"{base}/claim", headers=op)).status == 200
    assert (await conversation(client))["state"] == "operator"
    bad = await client.post(
        f"{base}/reply", headers=op, json={"text": "x", "quick_replies": ["a" * 21]}
    )
    assert bad.status == 422
    sent = await client.post(
        f"{base}/reply",
        headers=op,
        json={
            "text": "Здравствуйте! Проверю платёж и вернусь.",
            "quick_replies": [{"title": "Оплатить", "payload": "pay"}, "Спасибо"],
        },
    )
    assert sent.status == 200, await sent.text()
    last = (await _outbox(client))[-1]
    assert last["text"] == "Здравствуйте! Проверю платёж и вернусь."
    assert last["buttons"] == ["Оплатить", "Спасибо"] and last["to"] == PHONE
    # the shopper answers the operator: stored for them, the bot stays silent
    quiet = await say(client, "спасибо, жду")
    assert quiet["handled_by"] == "operator" and quiet["replies"] == []
    back = await client.post(f"{base}/release", headers=op, json={"to": "bot"})
    assert back.status == 200
    result = await say(client, button="delivery_help")
    assert result["handled_by"] == "bot" and "курьером" in texts(result)
    assert await _queue(client, op) == []


async def test_another_operator_cannot_answer_a_claimed_chat(client: Client, staff: Staff) -> None:
    await shopper(client)
    await say(client, "хочу вернуть заказ")
    [item] = await _queue(client, staff["operator"])
    base = f"/console/api/conversations/{item['contact_id']}"
    assert (await client.post(f"{base}/claim", headers=staff["operator"])).status == 200
    other = await client.post(f"{base}/reply", headers=staff["admin"], json={"text": "Привет"})
    assert other.status == 409


async def test_closed_chat_reopens_with_the_bot_on_the_next_message(
    client: Client, staff: Staff
) -> None:
    await shopper(client)
    await say(client, "хочу вернуть заказ")
    [item] = await _queue(client, staff["operator"])
    base = f"/console/api/conversations/{item['contact_id']}"
    assert (await client.post(f"{base}/claim", headers=staff["operator"])).status == 200
    closed = await client.post(f"{base}/release", headers=staff["operator"], json={"to": "closed"})
    assert closed.status == 200
    assert (await conversation(client))["state"] == "closed"
    result = await say(client, button="payment_help")
    assert result["handled_by"] == "bot"
    assert (await conversation(client))["state"] == "bot"


async def test_live_stream_announces_a_new_escalation(client: Client, staff: Staff) -> None:
    await shopper(client)
    response = await client.get("/console/api/stream", headers=staff["operator"])
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")

    async def next_event() -> str:
        lines = []
        while True:
            line = (await response.content.readline()).decode()
            if line == "\n" and lines:
                return "".join(lines)
            if line.strip() and not line.startswith(":"):
                lines.append(line)

    first = await asyncio.wait_for(next_event(), 10)
    assert first.startswith("event: change")
    await say(client, "позовите оператора")
    second = await asyncio.wait_for(next_event(), 10)
    assert second.startswith("event: change") and second != first
    response.close()
