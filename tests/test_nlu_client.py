"""The Rasa client and the live classifier against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from nlu.classify import OPT_OUT_MIN_CONFIDENCE, build_classifier
from nlu.client import CircuitBreaker, NluUnavailable, RasaClient

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeRasa:
    """A tiny server speaking (or garbling) Rasa's /model/parse; records what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.tokens: list[str | None] = []
        self.mode = "ok"
        self.intent = "delivery"
        self.confidence = 0.93
        # a whole ranking, best first, instead of intent and confidence
        self.ranking: list[tuple[str, float]] = []
        self.release = asyncio.Event()

    async def parse(self, request: web.Request) -> web.StreamResponse:
        self.received.append(await request.json())
        self.tokens.append(request.query.get("token"))
        if self.mode == "slow":
            await self.release.wait()  # never answers within the client's timeout
        if self.mode == "html":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        if self.mode == "list":
            return web.json_response([1, 2, 3])
        if self.mode == "no-confidence":
            return web.json_response({"intent": {"name": "payment"}})
        if self.mode == "500":
            return web.json_response({"error": "boom"}, status=500)
        if self.ranking:
            self.intent, self.confidence = self.ranking[0]
        ranking = [{"name": n, "confidence": c} for n, c in self.ranking] or [
            {"name": self.intent, "confidence": self.confidence}
        ]
        if self.intent == "nlu_fallback":
            ranking.append({"name": "discount", "confidence": 0.25})
        return web.json_response(
            {
                "text": self.received[-1]["text"],
                "intent": {"name": self.intent, "confidence": self.confidence},
                "intent_ranking": ranking,
            }
        )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeRasa, str]]:
    rasa = FakeRasa()
    app = web.Application()
    app.router.add_post("/model/parse", rasa.parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield rasa, str(server.make_url("")).rstrip("/")
    rasa.release.set()
    await server.close()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here any more


async def test_model_answer_is_used(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "secret", 0.6)
    result = await classifier.classify("когда привезут мой заказ")
    assert (result.intent, result.source, result.detail) == ("delivery", "model", "delivery")
    assert result.confidence == pytest.approx(0.93)
    assert rasa.tokens == ["secret"]
    await classifier.aclose()


async def test_card_data_is_redacted_before_the_model_sees_it(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.6)
    result = await classifier.classify("не проходит карта 4111 1111 1111 1111 cvv 123")
    assert "4111" not in rasa.received[0]["text"] and "123" not in rasa.received[0]["text"]
    assert result.card_data_removed
    assert "4111" not in result.redacted_text
    await classifier.aclose()


async def test_low_confidence_and_fallback_become_other(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.6)
    rasa.intent, rasa.confidence = "payment", 0.41
    low = await classifier.classify("hmm what about the thing")
    assert (low.intent, low.source, low.detail) == ("other", "threshold", "payment")
    rasa.intent, rasa.confidence = "nlu_fallback", 0.3
    fallback = await classifier.classify("asdf qwer")
    assert (fallback.intent, fallback.source, fallback.detail) == ("other", "threshold", "discount")
    await classifier.aclose()


async def test_a_weak_opt_out_gives_way_to_the_best_other_reading(
    fake: tuple[FakeRasa, str],
) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.25)
    rasa.ranking = [("decline", 0.33), ("delivery", 0.31), ("stop", 0.2), ("other", 0.11)]
    weak = await classifier.classify("shipping costs more than the item, any cheaper way?")
    assert (weak.intent, weak.source, weak.detail) == ("delivery", "model", "delivery")
    assert weak.confidence == pytest.approx(0.31)
    # the other reading is itself too weak: the clarifying question, not an opt-out
    rasa.ranking = [("stop", 0.34), ("other", 0.22), ("payment", 0.21), ("decline", 0.16)]
    unsure = await classifier.classify("to chyba jakis blad")
    assert (unsure.intent, unsure.source, unsure.detail) == ("other", "threshold", "other")
    # at the floor, or with no other class in the ranking, the opt-out stands
    rasa.ranking = [("decline", OPT_OUT_MIN_CONFIDENCE), ("payment", 0.34), ("stop", 0.18)]
    firm = await classifier.classify("уже не надо, оплачивать не буду")
    assert (firm.intent, firm.source, firm.detail) == ("opt_out", "model", "decline")
    rasa.ranking = [("stop", 0.3), ("decline", 0.3), ("nlu_fallback", 0.1)]
    only = await classifier.classify("以后别再烦我了行吗")
    assert (only.intent, only.source, only.detail) == ("opt_out", "model", "stop")
    await classifier.aclose()


async def test_a_near_tie_between_decline_and_stop_goes_to_stop(
    fake: tuple[FakeRasa, str],
) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.25)
    rasa.ranking = [("decline", 0.509), ("stop", 0.461), ("later", 0.007)]
    both = await classifier.classify("не нужны ваши напоминания. больше не пишите ни о чём")
    assert (both.intent, both.source, both.detail) == ("opt_out", "model", "stop")
    assert both.confidence == pytest.approx(0.509)
    rasa.ranking = [("decline", 0.6), ("stop", 0.3), ("other", 0.1)]
    decline = await classifier.classify("уже купила, про этот заказ не напоминайте")
    assert (decline.intent, decline.detail) == ("opt_out", "decline")
    await classifier.aclose()


async def test_a_negated_refusal_takes_the_opt_out_back(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.25)
    # "don't cancel": neither this checkout nor the messages are refused
    rasa.ranking = [("decline", 0.62), ("later", 0.3), ("stop", 0.05)]
    keep = await classifier.classify("не отменяйте, пожалуйста, заказ мне ещё нужен")
    assert (keep.intent, keep.source, keep.detail) == ("other", "model", "later")
    assert keep.confidence == pytest.approx(0.3)
    rasa.ranking = [("stop", 0.7), ("already_paid", 0.26), ("decline", 0.04)]
    paid = await classifier.classify("I'm not cancelling, I paid for it this morning")
    assert (paid.intent, paid.detail) == ("payment", "already_paid")
    # "don't unsubscribe me": the messages stay, this checkout may still be declined, and a
    # near tie with stop no longer turns it into one
    rasa.ranking = [("stop", 0.5), ("decline", 0.45), ("later", 0.05)]
    only = await classifier.classify("nie wypisujcie mnie, po prostu tej kurtki już nie chcę")
    assert (only.intent, only.detail) == ("opt_out", "decline")
    rasa.ranking = [("decline", 0.55), ("stop", 0.45)]
    declined = await classifier.classify("please don't unsubscribe me, I just don't need the lamp")
    assert (declined.intent, declined.detail) == ("opt_out", "decline")
    # the order cancelled outright beside "don't unsubscribe me": a decline, consent kept
    rasa.ranking = [("stop", 0.74), ("other", 0.2), ("decline", 0.06)]
    kept = await classifier.classify("cancel my order please, but don't unsubscribe me")
    assert (kept.intent, kept.detail) == ("opt_out", "decline")
    assert kept.confidence == pytest.approx(0.74)
    # refusing the messages in other words keeps the opt-out
    rasa.ranking = [("stop", 0.8), ("decline", 0.15), ("other", 0.05)]
    stop = await classifier.classify("не отменяйте ничего, просто не пишите мне больше")
    assert (stop.intent, stop.detail) == ("opt_out", "stop")
    await classifier.aclose()


async def test_server_down_means_unavailable_and_rules_keep_working() -> None:
    classifier = build_classifier(_closed_port_url(), "t", 0.6, timeout=0.5)
    free_text = await classifier.classify("where is my parcel")
    assert (free_text.intent, free_text.source) == ("other", "unavailable")
    stop = await classifier.classify("STOP please")
    assert (stop.intent, stop.source) == ("opt_out", "rule")
    digit = await classifier.classify("2", {"2": "delivery"})
    assert (digit.intent, digit.source) == ("delivery", "rule")
    await classifier.aclose()


async def test_slow_server_times_out(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    rasa.mode = "slow"
    classifier = build_classifier(url, "t", 0.6, timeout=0.2)
    result = await asyncio.wait_for(classifier.classify("how much is shipping"), timeout=5)
    assert result.source == "unavailable"
    await classifier.aclose()


@pytest.mark.parametrize("mode", ["html", "list", "no-confidence", "500"])
async def test_garbage_answers_mean_unavailable(fake: tuple[FakeRasa, str], mode: str) -> None:
    rasa, url = fake
    rasa.mode = mode
    client = RasaClient(url, "t", timeout=1.0)
    with pytest.raises(NluUnavailable):
        await client.parse("hello there")
    classifier = build_classifier(url, "t", 0.6)
    result = await classifier.classify("hello there")
    assert (result.intent, result.source) == ("other", "unavailable")
    await client.aclose()
    await classifier.aclose()


async def test_circuit_opens_then_probes_and_closes(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    now = [1000.0]
    breaker = CircuitBreaker(failures=3, reset_after=10.0, monotonic=lambda: now[0])
    classifier = build_classifier(url, "t", 0.6, breaker=breaker)
    rasa.mode = "500"
    for _ in range(3):
        assert (await classifier.classify("need a discount")).source == "unavailable"
    assert breaker.state == "open" and classifier.status == "degraded"
    calls = len(rasa.received)
    assert (await classifier.classify("need a discount")).source == "unavailable"
    assert len(rasa.received) == calls  # open circuit: the server is not even asked
    now[0] += 10.0
    assert breaker.state == "half-open"
    rasa.mode = "ok"
    result = await classifier.classify("need a discount")
    assert result.source == "model"
    assert breaker.state == "closed" and classifier.status == "ok"
    await classifier.aclose()


async def test_failed_half_open_probe_reopens(fake: tuple[FakeRasa, str]) -> None:
    rasa, url = fake
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_after=5.0, monotonic=lambda: now[0])
    client = RasaClient(url, "t", breaker=breaker)
    rasa.mode = "list"
    with pytest.raises(NluUnavailable):
        await client.parse("x")
    now[0] += 5.0
    with pytest.raises(NluUnavailable):
        await client.parse("x")  # the probe fails
    assert breaker.state == "open"
    await client.aclose()


async def test_no_nlu_configured_rules_only() -> None:
    classifier = build_classifier(None)
    assert (await classifier.classify("Отписаться")).intent == "opt_out"
    assert (await classifier.classify("где моя посылка")).source == "unavailable"
    assert (await classifier.classify("🙂")).source == "rule"
    assert classifier.status == "degraded"


async def test_a_no_said_to_a_relative_is_meant_for_someone_else(
    fake: tuple[FakeRasa, str],
) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.25)
    rasa.ranking = [("decline", 0.81), ("wrong_chat", 0.12), ("later", 0.04)]
    called = await classifier.classify("пап не нужно мне покупать сапоги, я сама выберу")
    assert (called.intent, called.source, called.detail) == ("other", "model", "wrong_chat")
    assert called.confidence == pytest.approx(0.81)
    rasa.ranking = [("stop", 0.7), ("wrong_chat", 0.2), ("decline", 0.1)]
    stop = await classifier.classify("老公，别再买了，停")
    assert (stop.intent, stop.detail) == ("other", "wrong_chat")
    # no call, but the shopper says it went to the wrong chat
    rasa.ranking = [("decline", 0.48), ("wrong_chat", 0.45), ("later", 0.03)]
    slip = await classifier.classify("oops that was meant for my sister")
    assert (slip.intent, slip.detail) == ("other", "wrong_chat")
    # the relative is only talked about: the shopper declines
    rasa.ranking = [("decline", 0.81), ("wrong_chat", 0.12), ("later", 0.04)]
    told = await classifier.classify("мама сказала не надо, у неё есть такие")
    assert (told.intent, told.detail) == ("opt_out", "decline")
    # a put-off or an errand said to someone else is theirs too
    rasa.ranking = [("later", 0.66), ("wrong_chat", 0.3), ("decline", 0.04)]
    later = await classifier.classify("Kasia, nie czekaj na mnie z obiadem, wrócę później")
    assert (later.intent, later.detail) == ("other", "wrong_chat")
    rasa.ranking = [("where_is_my_order", 0.6), ("wrong_chat", 0.3)]
    errand = await classifier.classify("Ewa, hurtownia dzwoniła, dostawa przyjdzie w środę")
    assert (errand.intent, errand.detail) == ("other", "wrong_chat")
    # a paid signal and a call for a person stand
    rasa.ranking = [("already_paid", 0.7), ("wrong_chat", 0.2), ("decline", 0.1)]
    paid = await classifier.classify("мам, я уже оплатила")
    assert (paid.intent, paid.detail) == ("payment", "already_paid")
    rasa.ranking = [("human", 0.7), ("wrong_chat", 0.2)]
    person = await classifier.classify("Оля, соедините меня с оператором")
    assert (person.intent, person.detail) == ("other", "human")
    await classifier.aclose()


GIVE_UP = [("payment", 0.74), ("decline", 0.2), ("other", 0.06)]
WHO_OR_STOP = [("stop", 0.6), ("who_is_this", 0.35), ("other", 0.05)]
LATE_OR_DECLINE = [("decline", 0.62), ("where_is_my_order", 0.3), ("other", 0.08)]


@pytest.mark.parametrize(
    ("ranking", "texts", "expected"),
    [
        pytest.param(
            GIVE_UP,
            (
                "payment failed twice, forget it",
                "карта опять не прошла, ну его",
                "płatność nie przeszła, olewam",
                "支付宝付款失败，那就算了",
                "payment failed 3 times. i give up",
                "karta znowu odrzucona, poddaję się",
                "付了三次都失败，放弃了",
                "błąd przy płatności drugi raz, nie biorę",
            ),
            ("opt_out", "decline", 0.74),
            id="giving up on paying declines the checkout",
        ),
        pytest.param(
            GIVE_UP,
            (
                "don't cancel it please, card won't go through, can I use a different one?",
                "stop stop dont cancel, ill pay now but the link wont open??",
                "ile mam czasu na zaplacenie zanim anulujecie",
                "已经结算了",  # "settled"
            ),
            ("payment", "payment", 0.74),
            id="a cancel taken back or a payment question stays payment",
        ),
        pytest.param(
            [("later", 0.6), ("decline", 0.3)],
            ("не сейчас, ну и ладно, вечером посмотрю",),
            ("other", "later", 0.6),
            id="only a payment reading gives up",
        ),
        pytest.param(
            WHO_OR_STOP,
            (
                "哪来的我号码",
                "谁给你们我号码的？",
                "who gave you my number??",
                "откуда у вас мой номер?",
                "skąd macie mój numer?",
            ),
            ("other", "who_is_this", 0.6),
            id="who gave you my number alone is a question",
        ),
        pytest.param(
            WHO_OR_STOP,
            (
                "who gave you my number? delete it",
                "откуда у вас мой номер? не пишите мне",
                "skąd macie mój numer? proszę do mnie nie pisać",
                "垃圾短信，你们哪来的我号码？",
                "你们怎么有我的号码？别发了",
                "откуда у вас мой номер? не звоните",
                "who gave you my number? don't call me again",
                "skąd macie mój numer? nie dzwońcie",
                "哪来的我号码，别打扰我",
            ),
            ("opt_out", "stop", 0.6),
            id="with a demand beside it the question is a stop",
        ),
        pytest.param(
            LATE_OR_DECLINE,
            (
                "my previous order with the dog coat is late, winter's already here",
                "до сих пор не пришёл прошлый заказ, месяц жду",
                "poprzednia paczka nadal nie dotarła, dramat",
                "上次的订单还没到，气死了",
                "куртку так и не доставили, месяц прошёл",
            ),
            ("delivery", "where_is_my_order", 0.62),
            id="a late earlier order is no decline",
        ),
        pytest.param(
            LATE_OR_DECLINE,
            (
                "still not here, forget it, cancel",
                "месяц жду и до сих пор не привезли, отменяйте",
                "the party is over, not needed",
                "still not interested",
            ),
            ("opt_out", "decline", 0.62),
            id="giving the order up or a plain reason stays a decline",
        ),
        pytest.param(
            [("where_is_my_order", 0.6), ("decline", 0.3)],
            (
                "прошлая посылка так и не дошла, этот заказывать не буду",
                "last parcel never came, cancel this one too",
                "poprzednia paczka nie doszła, nie będę już u was kupować",
                "上一个包裹还没到，这个不要了",
            ),
            ("opt_out", "decline", 0.6),
            id="giving up beside a late earlier order declines the checkout",
        ),
        pytest.param(
            [("where_is_my_order", 0.6), ("decline", 0.3)],
            ("where's my last parcel, it's been two weeks", "доставка по городу отменяется?"),
            ("delivery", "where_is_my_order", 0.6),
            id="a late earlier order alone stays a delivery question",
        ),
        pytest.param(
            [("stop", 0.7), ("where_is_my_order", 0.3)],
            ("still hasn't arrived and stop texting me",),
            ("opt_out", "stop", 0.7),
            id="a stop beside a late order stays a stop",
        ),
    ],
)
async def test_what_the_text_says_overrides_the_reading(
    fake: tuple[FakeRasa, str],
    ranking: list[tuple[str, float]],
    texts: tuple[str, ...],
    expected: tuple[str, str, float],
) -> None:
    rasa, url = fake
    classifier = build_classifier(url, "t", 0.2)
    rasa.ranking = ranking
    read: dict[str, tuple[str, str | None, float]] = {}
    for text in texts:
        result = await classifier.classify(text)
        read[text] = (result.intent, result.detail, round(result.confidence, 2))
    await classifier.aclose()
    assert read == dict.fromkeys(texts, expected)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"model_file": "nlu-0123456789abcdef.tar.gz", "model_id": "x"},
            "nlu-0123456789abcdef.tar.gz",
        ),
        ({"model_id": "x"}, ""),  # up, but names no model
        ({"model_file": 42}, ""),
        ([1, 2], ""),
        ("401", None),
        ("html", None),
    ],
)
async def test_the_served_model_is_the_one_status_names(
    answer: object, expected: str | None
) -> None:
    tokens: list[str | None] = []

    async def status(request: web.Request) -> web.StreamResponse:
        tokens.append(request.query.get("token"))
        if answer == "401":
            return web.json_response({"error": "unauthorized"}, status=401)
        if answer == "html":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        return web.json_response(answer)

    app = web.Application()
    app.router.add_get("/status", status)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = RasaClient(str(server.make_url("")), "tok")
    try:
        assert await client.served_model() == expected
        assert tokens == ["tok"]
        assert client.breaker.state == "closed"  # only replies count against the circuit
    finally:
        await client.aclose()
        await server.close()


async def test_an_unreachable_server_serves_no_model() -> None:
    client = RasaClient(_closed_port_url())
    try:
        assert await client.served_model(answer_within=1.0) is None
        assert client.breaker.state == "closed"
    finally:
        await client.aclose()
