"""The trained model through the live path: fixed sentences in every language."""

from __future__ import annotations

import pytest

from nlu.classify import LiveClassifier

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
