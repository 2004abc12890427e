"""Fine intents end to end without the model: rule declines and thanks, "already paid"
(a quick reply) and its 15-minute check, order status, and shoppers who write first."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app_keys import SESSIONS
from bot.store.models import Chain, Consent, Contact, PaidCheck
from tests.dialogue_fixtures import conversation, post_events, say, shopper, texts
from tests.factory import consent, order_paid, order_status

Client = TestClient[Any, Any]
STRANGER = "+48500100200"


async def _chains(client: Client) -> list[str]:
    async with client.app[SESSIONS]() as session:
        return list((await session.scalars(select(Chain.status).order_by(Chain.id))).all())


async def _open_consents(client: Client) -> int:
    async with client.app[SESSIONS]() as session:
        rows = await session.scalars(select(Consent.id).where(Consent.revoked_at.is_(None)))
        return len(rows.all())


async def _advance(client: Client, seconds: int) -> None:
    response = await client.post("/sandbox/clock", json={"advance_seconds": seconds})
    assert response.status == 200, await response.text()


async def test_a_decline_stops_this_checkout_keeps_consent_and_says_how_to_stop_all(
    client: Client,
) -> None:
    await shopper(client)
    assert await _chains(client) == ["active"]
    result = await say(client, "Не актуально")
    assert result["handled_by"] == "bot" and result["intent"] == "opt_out"
    [reply] = result["replies"]
    assert "больше не напоминаем об этом заказе" in reply["text"] and "СТОП" in reply["text"]
    assert "не совсем понял" not in reply["text"]
    assert await _chains(client) == ["stopped"]
    assert await _open_consents(client) == 1
    assert (await conversation(client))["state"] == "bot"


async def test_a_polish_decline_answers_in_polish(client: Client) -> None:
    await shopper(client, language="pl")
    result = await say(client, "nieaktualne")
    assert "nie będziemy już przypominać" in texts(result) and "STOP" in texts(result)
    assert await _open_consents(client) == 1


async def test_thanks_gets_a_short_answer_once_and_emoji_too(client: Client) -> None:
    await shopper(client)
    first = await say(client, "Спасибо!")
    assert "Пожалуйста" in texts(first) and "не совсем понял" not in texts(first)
    second = await say(client, "спасибо большое 🙏")
    assert second["replies"] == [] and second["handled_by"] == "bot"
    emoji = await say(client, "👍")
    assert "не совсем понял" not in texts(emoji)
    assert (await conversation(client))["state"] == "bot"


async def test_already_paid_without_an_order_goes_to_an_operator_after_15_minutes(
    client: Client,
) -> None:
    await shopper(client)
    result = await say(client, button="already_paid")
    assert "Спасибо" in texts(result) and "15 минут" in texts(result)
    assert await _chains(client) == ["stopped"]
    again = await say(client, button="already_paid")  # one planned check per checkout
    assert again["handled_by"] == "bot"
    await _advance(client, 14 * 60)
    assert (await conversation(client))["state"] == "bot"
    await _advance(client, 60)
    state = await conversation(client)
    assert state["state"] == "waiting_operator"
    assert state["handoff_reason"] == "money_charged_no_order"
    async with client.app[SESSIONS]() as session:
        checks = (await session.scalars(select(PaidCheck.status))).all()
    assert checks == ["escalated"]


async def test_already_paid_with_the_order_paid_in_time_stays_with_the_bot(
    client: Client,
) -> None:
    await shopper(client)
    await say(client, button="already_paid")
    await _advance(client, 5 * 60)
    await post_events(client, order_paid())
    await _advance(client, 15 * 60)
    assert (await conversation(client))["state"] == "bot"
    async with client.app[SESSIONS]() as session:
        checks = (await session.scalars(select(PaidCheck.status))).all()
    assert checks == ["paid"]


async def _order_status(client: Client, status: str, **order: Any) -> None:
    await post_events(client, order_paid(), order_status(status=status, **order))


async def test_status_command_answers_the_last_status_with_its_tracking_link(
    client: Client,
) -> None:
    await shopper(client)
    await _order_status(client, "shipped", tracking_url="https://track.example/RU123")
    for text in ("/status", "где мой заказ?"):
        result = await say(client, text)
        assert "Статус вашего заказа: передан в доставку." in texts(result)
        assert "https://track.example/RU123" in texts(result)
        assert result["handled_by"] == "bot"


async def test_status_without_a_known_status_is_a_delivery_dispute(client: Client) -> None:
    await shopper(client)
    result = await say(client, "/status")
    assert result["handled_by"] == "operator"
    assert (await conversation(client))["handoff_reason"] == "delivery_dispute"


async def test_help_and_operator_commands(client: Client) -> None:
    await shopper(client, language="en")
    help_ = await say(client, "/help")
    assert help_["replies"][0]["buttons"] == ["Order status", "Payment", "Delivery"]
    operator = await say(client, "operator")
    assert operator["handled_by"] == "operator"
    assert (await conversation(client))["handoff_reason"] == "human_requested"


async def test_a_shopper_who_writes_first_gets_the_welcome_in_their_language(
    client: Client,
) -> None:
    result = await say(client, "dzień dobry, mam pytanie", phone=STRANGER)
    [reply] = result["replies"]
    assert reply["to"] == STRANGER and "/operator" in reply["text"]
    assert reply["buttons"] == ["Status zamówienia", "Płatność", "Dostawa"]
    async with client.app[SESSIONS]() as session:
        [row] = (await session.scalars(select(Contact))).all()
    assert (row.phone, row.language, row.first_name, row.timezone) == (STRANGER, "pl", None, None)
    assert STRANGER.lstrip("+") not in row.external_id
    payment = await say(client, "2", phone=STRANGER)  # the quick reply it offered
    assert payment["intent"] == "payment" and payment["handled_by"] == "bot"


async def test_a_stranger_cannot_read_another_persons_order(client: Client) -> None:
    await shopper(client)
    await _order_status(client, "shipped", tracking_url="https://track.example/RU123")
    result = await say(client, "/status", phone=STRANGER)
    assert "передан в доставку" not in texts(result) and "track.example" not in texts(result)
    assert result["handled_by"] == "operator"
    mine = await say(client, "/status")
    assert "передан в доставку" in texts(mine)


async def test_a_stranger_on_telegram_and_a_bad_address(client: Client) -> None:
    result = await say(client, "/help", phone="5550001", channel="telegram")
    assert result["replies"] and "/operator" in texts(result)
    response = await client.post(
        "/sandbox/inbound", json={"channel": "whatsapp", "from": "not-a-phone", "text": "hi"}
    )
    assert response.status == 404
    assert "no contact" in (await response.json())["error"]


async def test_a_known_contact_does_not_get_the_welcome(client: Client) -> None:
    await post_events(
        client,
        consent(source="checkbox"),
    )
    result = await say(client, "Спасибо!")
    assert "Пожалуйста" in texts(result)
