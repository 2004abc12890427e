"""Pure parts of the channels: SMS segments, deep-link tokens, pacing, Twilio's signature rule."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.base import SendResult
from bot.channels.failures import Fate, Row
from bot.channels.pacing import TokenBucket, backoff_delay, with_retries
from bot.channels.parsing import MalformedWebhook
from bot.channels.sms_segments import fits, sms_segments
from bot.channels.telegram import parse_update
from bot.channels.telegram_link import make_token, read_token
from bot.channels.twilio_sms import compute_signature, parse_webhook, verify_signature

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("я" * 70, 1),
        ("я" * 71, 2),
        ("я" * 134, 2),
        ("я" * 135, 3),
        ("Hello 😀" + "a" * 62, 1),  # UCS-2: the emoji is two units → 70
        ("Hello 😀" + "a" * 63, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_cyrillic_costs_more() -> None:
    link = "https://shop.example/c/abc"
    latin = f"Your cart is waiting: finish the order here {link}. Reply STOP to opt out."
    assert sms_segments(latin) == 1 and fits(latin)
    cyrillic = f"Ваша корзина ждёт: оформите заказ по ссылке {link}. СТОП — отписаться."
    assert sms_segments(cyrillic) == 2 and fits(cyrillic) and not fits(cyrillic * 2)


def test_telegram_link_tokens() -> None:
    token = make_token(1234, "s3cret")
    assert len(token) <= 64 and token.replace("_", "").replace("-", "").isalnum()
    assert read_token(token, "s3cret") == 1234
    assert read_token(token, "other") is None
    assert read_token(token.replace("1234", "1235"), "s3cret") is None
    assert read_token(token[:-1], "s3cret") is None
    for garbage in ("", "c", "c_", "cabc_x", "x" * 100, "c12_" + "A" * 16):
        assert read_token(garbage, "s3cret") is None


def test_twilio_signature_matches_twilio_library() -> None:
    url = "https://shop.example/webhooks/twilio?x=1"
    params = {"Body": "Привет", "From": "+79161234567", "MessageSid": "SM1", "A": ""}
    theirs = RequestValidator("tok").compute_signature(url, params)
    assert compute_signature(url, params.items(), "tok") == theirs
    assert verify_signature(url, params.items(), theirs, "tok")
    assert verify_signature(
        "https://shop.example:443/webhooks/twilio?x=1", params.items(), theirs, "tok"
    )
    assert not verify_signature(url, params.items(), theirs, "other")
    assert not verify_signature(url, params.items(), None, "tok")


def test_twilio_parse_inbound_and_status() -> None:
    inbound = parse_webhook(
        {"MessageSid": "SM1", "From": "+1202", "Body": "STOP", "SmsStatus": "received"}, NOW
    )
    assert inbound[0].item.text == "STOP" and inbound[0].dedupe_key == "SM1"
    assert inbound[0].item.extra["stop"] == "1"  # type: ignore[union-attr]
    russian = parse_webhook({"MessageSid": "SM9", "From": "+7916", "Body": "СТОП"}, NOW)
    assert russian[0].item.extra.get("stop") == "1"  # type: ignore[union-attr]
    question = parse_webhook(
        {"MessageSid": "SM8", "From": "+7916", "Body": "стоп, а где заказ?"}, NOW
    )
    assert "stop" not in question[0].item.extra  # type: ignore[union-attr]
    status = parse_webhook(
        {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30007"}, NOW
    )
    update = status[0].item
    assert update.status == "failed" and update.error_code == "30007"  # type: ignore[union-attr]
    assert parse_webhook({"MessageSid": "SM3", "MessageStatus": "queued"}, NOW) == []
    with pytest.raises(MalformedWebhook):
        parse_webhook({"Body": "x"}, NOW)


def test_telegram_parse() -> None:
    with pytest.raises(MalformedWebhook):
        parse_update({"update_id": "1"}, NOW)
    tap = {
        "update_id": 9,
        "callback_query": {
            "id": "77",
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "chat_instance": "5",
            "data": "pay",
            "message": {"message_id": 3, "date": 1, "chat": {"id": 5, "type": "private"}},
        },
    }
    item = parse_update(tap, NOW)[0].item
    assert item.button_payload == "pay" and item.address == "5"  # type: ignore[union-attr]


async def test_token_bucket_paces() -> None:
    bucket = TokenBucket(rate=100, capacity=1)
    started = time.monotonic()
    for _ in range(6):
        await bucket.acquire()
    assert time.monotonic() - started >= 0.04  # 5 waits of 10 ms after the first token


async def test_retries_stop_on_unknown_and_permanent() -> None:
    calls: list[int] = []

    async def attempt(results: list[SendResult]) -> SendResult:
        calls.append(1)
        return results.pop(0)

    table = {"busy": Row(Fate.NOT_SENT, "x"), "late": Row(Fate.MAYBE_SENT, "x")}
    flaky = [SendResult("failed", retry_after=0, failure="busy"), SendResult("sent", "id")]
    assert (await with_retries(lambda: attempt(flaky), table, base=0.001)).outcome == "sent"
    calls.clear()
    unknown = [SendResult("unknown"), SendResult("sent", "id")]
    assert (await with_retries(lambda: attempt(unknown), table, base=0.001)).outcome == "unknown"
    assert len(calls) == 1
    calls.clear()
    maybe = [SendResult("failed", failure="late"), SendResult("sent", "id")]
    assert (await with_retries(lambda: attempt(maybe), table, base=0.001)).outcome == "unknown"
    assert len(calls) == 1
    long_wait = [SendResult("failed", retry_after=3600, failure="busy")]
    waited = await with_retries(lambda: attempt(long_wait), table, base=0.001)
    assert waited.retry_after == 3600 and waited.retryable
    assert 0 <= backoff_delay(3, 0.5, 30, None) <= 4
    await asyncio.sleep(0)
