"""The trained model through the live path: fixed sentences in every language."""

from __future__ import annotations

import pytest

from nlu.classify import LiveClassifier
from nlu.intents import fine_of

pytestmark = pytest.mark.rasa

SENTENCES = [
    ("ru", "не проходит оплата картой, что делать", "payment"),
    ("ru", "когда привезут мой заказ", "delivery"),
    ("ru", "промокод не работает", "discount"),
    ("ru", "не пишите мне больше", "opt_out"),
    ("ru", "какой размер мне подойдет", "other"),
    ("en", "my card got declined", "payment"),
    ("en", "how much is shipping to canada", "delivery"),
    ("en", "any discount codes?", "discount"),
    ("en", "stop texting me", "opt_out"),
    ("en", "can i talk to a human", "other"),
    ("pl", "nie mogę zapłacić blikiem", "payment"),
    ("pl", "kiedy przyjdzie paczka", "delivery"),
    ("pl", "macie kod rabatowy", "discount"),
    ("pl", "nie piszcie do mnie więcej", "opt_out"),
    ("pl", "dzień dobry", "other"),
    ("zh", "支付失败了", "payment"),
    ("zh", "什么时候发货", "delivery"),
    ("zh", "有优惠券吗", "discount"),
    ("zh", "别再发了", "opt_out"),
    ("zh", "我要人工客服", "other"),
]


@pytest.mark.parametrize(("language", "text", "intent"), SENTENCES)
async def test_fixed_sentences(
    rasa_classifier: LiveClassifier, language: str, text: str, intent: str
) -> None:
    result = await rasa_classifier.classify(text)
    assert result.intent == intent, (language, text, result)
    assert result.source in {"model", "rule", "threshold"}


FINE_SENTENCES = [
    ("ru", "не актуально уже, спасибо", "opt_out", "decline"),
    ("ru", "я уже оплатила заказ", "payment", "already_paid"),
    ("ru", "где моя посылка?", "delivery", "where_is_my_order"),
    ("ru", "хочу поговорить с оператором", "other", "human"),
    ("en", "no thanks, found it cheaper somewhere else", "opt_out", "decline"),
    ("en", "already paid for it", "payment", "already_paid"),
    ("en", "thank you so much!", "other", "thanks"),
    ("pl", "rozmyśliłam się, nie trzeba", "opt_out", "decline"),
    ("pl", "gdzie jest moja paczka", "delivery", "where_is_my_order"),
    ("zh", "不买了，谢谢", "opt_out", "decline"),
    ("zh", "已经付过钱了", "payment", "already_paid"),
]


@pytest.mark.parametrize(("language", "text", "intent", "fine"), FINE_SENTENCES)
async def test_fine_intents(
    rasa_classifier: LiveClassifier, language: str, text: str, intent: str, fine: str
) -> None:
    result = await rasa_classifier.classify(text)
    assert (result.intent, fine_of(result)) == (intent, fine), (language, text, result)
