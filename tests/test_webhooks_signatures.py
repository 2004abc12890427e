"""Webhook authenticity for all three providers: valid, invalid, missing, tampered, wrong secret."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import sign
from tests.channels_fixtures import received, service, wa_signed, wa_text, webhook_count

__all__ = ["received", "service"]

SECRET = "sandbox-app-secret"


async def test_whatsapp_challenge(service: TestClient[Any, Any]) -> None:
    ok = {
        "hub.mode": "subscribe",
        "hub.verify_token": "sandbox-verify-token",
        "hub.challenge": "42",
    }
    response = await service.get("/webhooks/whatsapp", params=ok)
    assert response.status == 200 and await response.text() == "42"
    for bad in ({**ok, "hub.verify_token": "nope"}, {**ok, "hub.mode": "unsubscribe"}, {}):
        response = await service.get("/webhooks/whatsapp", params=bad)
        assert response.status == 403


async def test_whatsapp_signatures(service: TestClient[Any, Any]) -> None:
    body, headers = wa_signed(wa_text("wamid.SIG1"), SECRET)
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("missing", body, {"Content-Type": "application/json"}),
        ("invalid", body, {"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        ("not sha256", body, {"X-Hub-Signature-256": sign(body, SECRET).replace("sha256=", "")}),
        ("wrong secret", body, {"X-Hub-Signature-256": sign(body, "other-secret")}),
        ("tampered", body.replace(b"Privet", b"x").replace(b"wamid.SIG1", b"wamid.SIG2"), headers),
    ]
    for name, data, hdrs in cases:
        response = await service.post("/webhooks/whatsapp", data=data, headers=hdrs)
        assert response.status == 403, name
    assert await webhook_count(service) == 0
    response = await service.post("/webhooks/whatsapp", data=body, headers=headers)
    assert response.status == 200
    assert await webhook_count(service) == 1


def _twilio_form(sid: str = "SM" + "a" * 32) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": "+79161234567",
        "To": "+15005550006",
        "Body": "Когда доставка?",
        "NumSegments": "1",
        "SmsStatus": "received",
    }


async def test_twilio_signatures_made_by_twilio_library(service: TestClient[Any, Any]) -> None:
    url = "http://127.0.0.1:8080/webhooks/twilio"  # NUDGE_PUBLIC_URL + path
    form = _twilio_form()
    good = RequestValidator("sandbox-twilio-token").compute_signature(url, form)
    wrong = RequestValidator("other-token").compute_signature(url, form)
    other_url = RequestValidator("sandbox-twilio-token").compute_signature(url + "x", form)
    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
    tampered = urlencode({**form, "Body": "STOP"})
    for name, data, signature in [
        ("missing", urlencode(form), None),
        ("wrong secret", urlencode(form), wrong),
        ("wrong url", urlencode(form), other_url),
        ("tampered", tampered, good),
        ("garbage", urlencode(form), "not-base64!"),
    ]:
        headers = dict(ctype) if signature is None else {**ctype, "X-Twilio-Signature": signature}
        response = await service.post("/webhooks/twilio", data=data, headers=headers)
        assert response.status == 403, name
    assert await webhook_count(service) == 0
    headers = {**ctype, "X-Twilio-Signature": good}
    response = await service.post("/webhooks/twilio", data=urlencode(form), headers=headers)
    assert response.status == 200
    assert "<Response>" in await response.text()
    assert await webhook_count(service) == 1


async def test_telegram_secret_token(service: TestClient[Any, Any]) -> None:
    update = {
        "update_id": 5001,
        "message": {
            "message_id": 1,
            "date": 1772442000,
            "chat": {"id": 777, "type": "private"},
            "text": "hi",
        },
    }
    body = json.dumps(update)
    for name, headers in [
        ("missing", {}),
        ("wrong", {"X-Telegram-Bot-Api-Secret-Token": "nope"}),
        ("empty", {"X-Telegram-Bot-Api-Secret-Token": ""}),
    ]:
        response = await service.post("/webhooks/telegram", data=body, headers=headers)
        assert response.status == 403, name
    assert await webhook_count(service) == 0
    good = {"X-Telegram-Bot-Api-Secret-Token": "sandbox-telegram-secret"}
    response = await service.post("/webhooks/telegram", data=body, headers=good)
    assert response.status == 200
    assert await webhook_count(service) == 1
