"""After the acknowledgement: duplicates once, statuses in any order, garbage never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app_keys import CLOCK, ENGINE, INBOX, OUTBOUND, SESSIONS
from bot.channels.base import OutboundMessage
from bot.channels.parsing import Parsed
from bot.channels.telegram_link import make_token
from bot.store.inbound_writer import store
from bot.store.models import Consent, Contact, InboundWebhook
from tests.channels_fixtures import (
    Received,
    add_contact,
    fakes,
    message_row,
    received,
    service,
    unprocessed,
    wa_signed,
    wa_status,
    wa_text,
    wait_for,
    webhook_count,
)

__all__ = ["received", "service"]
SECRET = "sandbox-app-secret"


async def _post_wa(client: TestClient[Any, Any], payload: Any) -> int:
    body, headers = wa_signed(payload, SECRET)
    response = await client.post("/webhooks/whatsapp", data=body, headers=headers)
    return response.status


async def test_duplicate_provider_id_is_handled_once(
    service: TestClient[Any, Any], received: Received
) -> None:
    for _ in range(3):
        assert await _post_wa(service, wa_text("wamid.DUP")) == 200
    await wait_for(lambda: _none_left(service), "webhook processed")
    assert await webhook_count(service) == 1
    assert [m.provider_message_id for m in received.items] == ["wamid.DUP"]
    item = received.items[0]
    assert item.address == "+79161234567" and item.text == "Привет" and item.channel == "whatsapp"


async def _none_left(client: TestClient[Any, Any]) -> bool:
    return await unprocessed(client) == 0 and client.app[INBOX].idle


async def test_button_reply_becomes_payload(
    service: TestClient[Any, Any], received: Received
) -> None:
    payload = wa_text("wamid.BTN")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message["type"] = "interactive"
    message["interactive"] = {
        "type": "button_reply",
        "button_reply": {"id": "pay_help", "title": "Помощь с оплатой"},
    }
    assert await _post_wa(service, payload) == 200
    await wait_for(lambda: _none_left(service), "processed")
    assert received.items[0].button_payload == "pay_help"


async def _sent_message(client: TestClient[Any, Any]) -> tuple[int, str]:
    contact = await add_contact(client)
    sent = await client.app[OUTBOUND].send(contact, "whatsapp", OutboundMessage("Корзина ждёт"))
    assert sent.result.outcome == "sent" and sent.result.provider_message_id
    return sent.message_id, sent.result.provider_message_id


async def test_statuses_out_of_order_and_twice(service: TestClient[Any, Any]) -> None:
    fakes(service).whatsapp.callbacks = False  # only the statuses posted below
    message_id, wamid = await _sent_message(service)
    for status in ("read", "delivered", "read", "sent", "delivered"):
        assert await _post_wa(service, wa_status(wamid, status)) == 200
    await wait_for(lambda: _none_left(service), "statuses processed")
    row = await message_row(service, message_id)
    assert row.status == "read"
    # each (message, status) pair is stored once
    assert await webhook_count(service) == 3


async def test_failed_status_recorded_with_meaning_and_listeners_told(
    service: TestClient[Any, Any],
) -> None:
    """The product's own listener hears it: the number is remembered as without WhatsApp."""
    fakes(service).whatsapp.callbacks = False
    message_id, wamid = await _sent_message(service)
    assert await _post_wa(service, wa_status(wamid, "failed", code=131026)) == 200
    await wait_for(lambda: _none_left(service), "status processed")
    row = await message_row(service, message_id)
    assert row.status == "failed" and row.error_code == "131026"
    assert row.error_reason and "not on WhatsApp" in row.error_reason
    async with service.app[SESSIONS]() as session:
        contact = await session.get(Contact, row.contact_id)
    assert contact is not None and contact.whatsapp_missing_at is not None
    # a late "sent" does not undo the failure; a "delivered" (another device) does
    await _post_wa(service, wa_status(wamid, "sent"))
    await wait_for(lambda: _none_left(service), "processed")
    assert (await message_row(service, message_id)).status == "failed"


async def test_malformed_bodies_are_400_and_not_stored(service: TestClient[Any, Any]) -> None:
    bad_payloads: list[Any] = [
        b"not json",
        [],
        {"object": "page"},
        {"object": "whatsapp_business_account", "entry": "x"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": []}]}]},
        wa_text("wamid.X") | {"entry": [{"changes": [{"value": {"messages": [{"id": 1}]}}]}]},
    ]
    for payload in bad_payloads:
        assert await _post_wa(service, payload) == 400, payload
    assert await webhook_count(service) == 0


async def test_garbage_never_500(service: TestClient[Any, Any]) -> None:
    rng = random.Random(5)
    base = wa_text("wamid.G")
    leaves: list[Any] = [None, 1, -1.5, True, "", "x" * 5000, [], {}, [1, "a"], {"a": None}]

    def mutate(node: Any) -> Any:
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            return {**node, key: mutate(node[key]) if rng.random() < 0.7 else rng.choice(leaves)}
        if isinstance(node, list) and node:
            return [mutate(node[0]), *node[1:]]
        return rng.choice(leaves)

    for i in range(60):
        payload = mutate(json.loads(json.dumps(base)))
        status = await _post_wa(service, payload)
        assert status in (200, 400), (i, status, payload)
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        body, headers = wa_signed(raw, SECRET)
        assert (await service.post("/webhooks/whatsapp", data=body, headers=headers)).status == 400
        tg = {"X-Telegram-Bot-Api-Secret-Token": "sandbox-telegram-secret"}
        tg_body = json.dumps({"update_id": i, "message": mutate({"chat": {"id": 1}, "date": 1})})
        assert (await service.post("/webhooks/telegram", data=tg_body, headers=tg)).status in (
            200,
            400,
        )
        assert (await service.post("/webhooks/telegram", data=raw, headers=tg)).status == 400
    await wait_for(lambda: _none_left(service), "processed")


async def test_rows_left_unprocessed_are_resumed(
    service: TestClient[Any, Any], received: Received
) -> None:
    from bot.channels.whatsapp import parse_webhook

    app = service.app
    items: list[Parsed] = parse_webhook(wa_text("wamid.LEFT"), app[CLOCK].now())
    ids = await store(app[ENGINE], "whatsapp", items, app[CLOCK].now())
    assert len(ids) == 1 and await unprocessed(service) == 1  # as if the process died here
    assert await app[INBOX].resume() == 1
    await wait_for(lambda: _none_left(service), "resumed")
    assert [m.provider_message_id for m in received.items] == ["wamid.LEFT"]
    assert await app[INBOX].resume() == 0


async def test_telegram_start_link_binds_chat_and_records_consent(
    service: TestClient[Any, Any], received: Received
) -> None:
    contact = await add_contact(service, phone="+48601234567")
    response = await service.get(
        f"/api/v1/contacts/{contact.external_id}/telegram-link",
        headers={"Authorization": "Bearer test-shop-key-0123456789"},
    )
    assert response.status == 200
    link = await response.json()
    assert link["url"].startswith("https://t.me/nudge_sandbox_bot?start=")
    assert (
        await service.get(f"/api/v1/contacts/{contact.external_id}/telegram-link")
    ).status == 401
    forged = make_token(contact.id, "another-secret")
    assert await fakes(service).telegram.deliver("555", text=f"/start {forged}") == 200
    assert await fakes(service).telegram.deliver("4242", text=f"/start {link['token']}") == 200
    assert await fakes(service).telegram.deliver("4242", text="Привет") == 200
    await wait_for(lambda: _none_left(service), "processed")
    async with service.app[SESSIONS]() as session:
        row = await session.get(Contact, contact.id)
        assert row is not None and row.telegram_chat_id == "4242"
        consents = (await session.scalars(select(Consent))).all()
    assert [(c.channel, c.source) for c in consents] == [("telegram", "telegram_deep_link")]
    assert [m.text for m in received.items] == ["Привет"]  # /start is not the dialogue's


async def test_stored_rows_keep_the_parsed_message_not_the_provider_payload(
    service: TestClient[Any, Any],
) -> None:
    assert await _post_wa(service, wa_text("wamid.RAW")) == 200
    async with service.app[SESSIONS]() as session:
        row = (await session.scalars(select(InboundWebhook))).one()
    assert row.dedupe_key == "wamid.RAW" and row.payload["id"] == "wamid.RAW"
    assert "raw" not in row.payload  # the provider's payload (profile name, …) is not kept
    assert "Anna" not in json.dumps(row.payload, ensure_ascii=False)
    assert row.received_at == service.app[CLOCK].now()  # same stored form on the fast path
