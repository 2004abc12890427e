"""R-RP1 deterministic rules: stop words in every language, offered digits/buttons, yes/no."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.rules import apply_rules, is_stop, refuted_opt_out

STOP_WORDS = [
    "STOP", "stop", "Stop", "STOPALL", "UNSUBSCRIBE", "unsubscribe", "CANCEL", "END", "QUIT",
    "opt out", "СТОП", "стоп", "Стоп", "отписаться", "Отписка", "хватит", "wypisz",
    "wypisz mnie", "dość", "退订", "取消订阅", "TD", "停止",
]  # fmt: skip
POLITE_BEFORE = ["", "please ", "pls ", "ну ", "пожалуйста ", "proszę ", "请", "ok "]
POLITE_AFTER = ["", " please", " now", " пожалуйста", " плиз", " proszę", "谢谢", " thanks", " уже"]
DECOR = ["", "!", "!!!", ".", " 🛑", "🙏", " 😡😡", "?!", "…", " )"]


def _random_case(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(word, flips, strict=True))


@st.composite
def stop_messages(draw: st.DrawFn) -> str:
    word = _random_case(draw, draw(st.sampled_from(STOP_WORDS)))
    before = draw(st.sampled_from(POLITE_BEFORE))
    after = draw(st.sampled_from(POLITE_AFTER))
    decor = draw(st.sampled_from(DECOR))
    lead = draw(st.sampled_from(["", " ", "  ", "\n", "“"]))
    return f"{lead}{before}{word}{after}{decor}{lead}"


@given(stop_messages())
@settings(max_examples=300, deadline=None)
def test_stop_word_variants_opt_out(message: str) -> None:
    match = apply_rules(message)
    assert match is not None and match.intent == "opt_out", message


@given(stop_messages(), st.dictionaries(st.sampled_from(["1", "2", "3"]), st.just("payment")))
@settings(max_examples=100, deadline=None)
def test_stop_wins_even_when_digits_are_offered(message: str, offered: dict[str, str]) -> None:
    match = apply_rules(message, offered)
    assert match is not None and match.intent == "opt_out"


@pytest.mark.parametrize(
    "text",
    [
        "stop by the store tomorrow",
        "I can't stop buying your stuff",
        "what is the end date of the sale",
        "cancel my order and refund",
        "don't stop the discount please",
        "стоп-кран не работает в поезде",
        "не могу остановиться, хочу ещё",
        "когда закончится акция",
        "怎么退订单",
        "不要退订，我周末买",
        "别退订我，还在考虑",
        "不用退订，晚点付",
        "別幫我退訂，明天買",
        "不要给我退订，在看",
        "快递员说我拒收了，可我没拒收",
        "wypiszę się sama później z newslettera? a co z rabatem",
        "hello",
        "",
        "   ",
    ],
)
def test_no_false_opt_out(text: str) -> None:
    match = apply_rules(text)
    assert match is None or match.intent != "opt_out"


@pytest.mark.parametrize(
    "text",
    [
        "stop texting me", "Please stop messaging this number!", "stop contacting me",
        "unsubscribe me from all texts", "take me off your list", "remove my number",
        "never text me again", "no more reminders please", "dont text me", "leave me alone",
        "i dont want any more texts from you", "how do i unsubscribe", "do not contact me",
        "не пишите мне больше", "хватит слать мне эти сообщения", "не надо мне больше писать",
        "отпишите меня от рассылки", "не хочу больше получать ваши смс",
        "удалите мой номер из базы", "prekratite pisat",
        "nie piszcie do mnie więcej", "przestańcie mi wysyłać", "wypiszcie mnie z listy",
        "rezygnuję z powiadomień", "nie chcę więcej smsów", "nie wysylajcie mi juz nic na telefon",
        "больше не присылайте ничего на телефон", "请不要再给我发消息了", "别再打扰我了",
        "取消所有通知", "我不想再收到你们的短信", "取关", "取关！", "取消关注",
        "删号", "删号，谢谢", "删除我的号码",
    ],
)  # fmt: skip
def test_whole_message_opt_out_sentences(text: str) -> None:
    assert is_stop(text), text


@pytest.mark.parametrize(
    "text",
    [
        "stop sending me the wrong size", "i dont want a discount, where is my parcel",
        "remove the item from my cart", "delete my cart", "how do i stop the payment",
        "unsubscribe from the newsletter but keep my order", "no more stock?",
        "take off the discount", "не пишите что доставка бесплатная если это не так",
        "удалите товар из корзины", "не хочу получать заказ курьером",
        "не надо писать что скидка", "usuń produkt z koszyka",
        "nie pisz do kuriera", "nie wysyłajcie paczki do paczkomatu",
        "не присылайте на телефон чек, лучше на почту", "不要发货了", "不要发顺丰", "取消订单",
    ],
)  # fmt: skip
def test_opt_out_sentences_stay_whole_message(text: str) -> None:
    assert not is_stop(text), text


@pytest.mark.parametrize("text", ["🛑", "⛔️", "🚫 🚫"])
def test_stop_emoji_alone_opts_out(text: str) -> None:
    assert is_stop(text)


OFFERED = {"1": "pay_link", "2": "delivery", "3": "opt_out", "PAY_HELP": "payment"}


@pytest.mark.parametrize(
    ("text", "intent", "detail"),
    [
        ("1", "other", "pay_link"),
        (" 2 ", "delivery", "delivery"),
        ("3.", "opt_out", "opt_out"),
        ("2️⃣", "delivery", "delivery"),
        ("PAY_HELP", "payment", "payment"),
        ("pay_help", "payment", "payment"),
    ],
)
def test_offered_digits_and_payloads(text: str, intent: str, detail: str) -> None:
    match = apply_rules(text, OFFERED)
    assert match is not None
    assert (match.intent, match.detail) == (intent, detail)


def test_digit_not_offered_is_left_to_the_model() -> None:
    assert apply_rules("4", OFFERED) is None
    assert apply_rules("1") is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("да", "yes"), ("Да!", "yes"), ("yes please", "yes"), ("Yep", "yes"), ("tak", "yes"),
        ("是的", "yes"), ("好的", "yes"), ("нет", "no"), ("Нет.", "no"), ("no", "no"),
        ("nope", "no"), ("nie", "no"), ("不要", "no"), ("不用了", "no"),
    ],
)  # fmt: skip
def test_yes_no_words(text: str, answer: str) -> None:
    match = apply_rules(text)
    assert match is not None
    assert (match.intent, match.detail) == ("other", answer)


def test_yes_no_resolved_through_offered() -> None:
    match = apply_rules("yes", {"yes": "opt_out_confirm", "no": "payment"})
    assert match is not None and (match.intent, match.detail) == ("other", "opt_out_confirm")
    match = apply_rules("нет", {"yes": "opt_out_confirm", "no": "payment"})
    assert match is not None and match.intent == "payment"


def test_free_text_is_left_to_the_model() -> None:
    assert apply_rules("when will my parcel arrive") is None


@pytest.mark.parametrize(
    ("text", "taken_back"),
    [
        ("не отменяйте, заказ ещё нужен", "cancel"),
        ("Я не отказываюсь, просто позже", "cancel"),
        ("don't cancel my order, I still want it", "cancel"),
        ("I’m not cancelling, just busy today", "cancel"),
        ("nie anulujcie, jeszcze chcę", "cancel"),
        ("nie rezygnuję, zapłacę w piątek", "cancel"),
        ("别取消，我还要", "cancel"),
        ("別取消我的訂單", "cancel"),
        ("не отписывайте меня, но этот заказ не нужен", "unsubscribe"),
        ("please don't unsubscribe me, I like your offers", "unsubscribe"),
        ("nie wypisujcie mnie", "unsubscribe"),
        ("不要退订，我周末买", "unsubscribe"),
        ("不会改变主意的，没有取消", "cancel"),
        ("я не откажусь, если будет скидка", "cancel"),
        ("нет-нет, я не передумал, просто занят", "cancel"),
        ("I didn't change my mind, the card is in the car", "cancel"),
        ("please don't delete the cart, I'll pay on Friday", "cancel"),
        ("don't delete my number, the offers are useful", "unsubscribe"),
        ("nie mówię nie, tylko za tydzień", "cancel"),
        # the order cancelled outright, the messages kept: a decline
        ("отмените, пожалуйста, заказ, а от рассылки меня не отписывайте", "decline"),
        ("cancel my order please, but don't unsubscribe me", "decline"),
        ("anulujcie zamówienie, ale nie wypisujcie mnie z newslettera", "decline"),
        ("取消订单吧，不过别给我退订", "decline"),
        # the messages refused outright beside a negated cancel
        ("от заказа не отказываюсь, а вот от рассылки отпишите", None),
        ("I'm not cancelling the order, just unsubscribe me from texts", None),
        # a refusal after a comma, another negated verb, or the messages refused in other words
        ("не буду, отказываюсь", None),
        ("не удалось оплатить, отмените", None),
        ("nie, rezygnuję", None),
        ("不要，取消吧", None),
        ("don't cancel, just stop texting me", None),
        ("не отменяйте заказ, но больше не пишите", None),
        ("cancel it", None),
    ],
)
def test_a_negated_refusal_word_is_taken_back(text: str, taken_back: str | None) -> None:
    assert refuted_opt_out(text) == taken_back
