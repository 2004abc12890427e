"""The char TF-IDF scorer the Rasa pipeline blends with DIET (nlu/char_tfidf.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from nlu.char_tfidf import CharTfidfScorer, blend, reweigh
from nlu.rules import is_cjk

TEXTS = [
    "where is my order",
    "где мой заказ",
    "gdzie jest moja paczka",
    "我的快递到哪了",
    "stop texting me",
    "не пишите мне",
    "wypisz mnie",
    "别再发了",
    "does it run small",
    "какой размер взять",
    "czy to bawełna",
    "尺码偏小吗",
]
LABELS = ["where_is_my_order"] * 4 + ["stop"] * 4 + ["product_question"] * 4
PROBES = ["WHERE is my parcel??", "не пишите", "尺码", "zzz", ""]


@pytest.mark.parametrize("classes", [3, 2])
def test_scores_equal_scikit_learn_after_a_round_trip(tmp_path: Path, classes: int) -> None:
    count = 4 * classes
    texts, labels = TEXTS[:count], LABELS[:count]
    reference = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
        LogisticRegression(C=10.0, max_iter=2000),
    ).fit(texts, labels)
    CharTfidfScorer.fit(texts, labels).save(tmp_path)
    scorer = CharTfidfScorer.load(tmp_path)
    for text, expected in zip(PROBES, reference.predict_proba(PROBES), strict=True):
        scores = scorer.probabilities(text)
        for name, probability in zip(reference.classes_, expected, strict=True):
            assert scores[name] == pytest.approx(probability, abs=1e-9), (text, name)


def test_blend_weights_both_rankings_and_counts_a_missing_intent_as_zero() -> None:
    ranking = blend({"stop": 0.9, "decline": 0.1}, {"decline": 0.8, "other": 0.2}, 0.25)
    assert ranking[0][0] == "decline"
    assert dict(ranking) == pytest.approx({"decline": 0.625, "stop": 0.225, "other": 0.15})


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("不要了", True),
        ("不需要了 thanks", True),
        ("謝謝", True),
        ("bu yao le", False),
        ("не актуально", False),
        ("nieaktualne", False),
        ("👍", False),
    ],
)
def test_chinese_text_is_told_from_pinyin_and_other_scripts(text: str, chinese: bool) -> None:
    # the blend gives Chinese text its own DIET weight (config.yml cjk_model_weight)
    assert is_cjk(text) is chinese


def test_reweigh_scales_named_intents_and_renormalises() -> None:
    ranking = reweigh([("who_is_this", 0.45), ("stop", 0.4), ("other", 0.15)], {"stop": 1.3})
    assert ranking[0][0] == "stop"
    assert dict(ranking) == pytest.approx(
        {"stop": 0.52 / 1.12, "who_is_this": 0.45 / 1.12, "other": 0.15 / 1.12}
    )
    assert sum(p for _, p in ranking) == pytest.approx(1.0)


def test_reweigh_without_weights_keeps_the_ranking() -> None:
    ranking = [("payment", 0.7), ("stop", 0.3)]
    assert reweigh(ranking, {}) == ranking
