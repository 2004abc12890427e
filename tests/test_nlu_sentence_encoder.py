"""The English sentence-encoder scorer: fitting, its language gate, saving, the blend."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from nlu.dataset import Example
from nlu.sentence_encoder import (
    WEIGHT,
    EncoderScorer,
    encoder_dir,
    encoder_for,
    encoder_for_served,
    served_encoder,
)

ROWS = {
    "en": {
        "stop": ["stop texting me", "unsubscribe me please", "do not message me again"],
        "decline": ["no thanks, changed my mind", "not interested anymore", "I don't need it"],
        "payment": ["my card was declined", "how can I pay for it", "payment failed"],
    },
    "ru": {
        "stop": ["стоп", "не пишите мне больше", "отпишите меня"],
        "decline": ["не актуально", "передумал", "уже не нужно"],
        "payment": ["карта не проходит", "как оплатить", "оплата не прошла"],
    },
    "pl": {
        "stop": ["nie piszcie do mnie", "wypisz mnie", "stop smsy"],
        "decline": ["nieaktualne", "rozmyśliłem się", "już nie potrzebuję"],
        "payment": ["karta odrzucona", "jak zapłacić", "płatność nie przeszła"],
    },
    "zh": {
        "stop": ["别再发了", "退订", "不要再联系我"],
        "decline": ["不需要了", "不想要了", "改主意了"],
        "payment": ["付款失败", "怎么付款", "银行卡被拒"],
    },
}


@pytest.fixture(scope="module")
def scorer() -> EncoderScorer:
    examples = [
        Example(text, intent, lang)
        for lang, intents in ROWS.items()
        for intent, texts in intents.items()
        for text in texts
    ]
    return EncoderScorer.fit(examples)


def test_only_english_text_is_scored(scorer: EncoderScorer) -> None:
    assert scorer.applies("no thank you, I changed my mind")
    for text in ("спасибо, не надо", "nie, dziękuję, rozmyśliłam się", "谢谢，不用了"):
        assert not scorer.applies(text), text


def test_probabilities_cover_the_english_intents(scorer: EncoderScorer) -> None:
    probs = scorer.probabilities("please stop sending me these texts")
    assert sorted(probs) == ["decline", "payment", "stop"]
    assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-9)
    assert max(probs, key=probs.__getitem__) == "stop"
    probs = scorer.probabilities("the bank refused my card")
    assert max(probs, key=probs.__getitem__) == "payment"


def test_blend_weighs_rasa_and_the_encoder_and_drops_the_fallback(scorer: EncoderScorer) -> None:
    text = "thanks, but I no longer need it"
    ranking = [("nlu_fallback", 0.9), ("payment", 0.6), ("other", 0.3), ("stop", 0.1)]
    mine = scorer.probabilities(text)
    blended = dict(scorer.blend(ranking, text))
    assert "nlu_fallback" not in blended
    assert math.isclose(blended["payment"], (1 - WEIGHT) * 0.6 + WEIGHT * mine["payment"])
    assert math.isclose(blended["other"], (1 - WEIGHT) * 0.3)  # the encoder never saw "other"
    assert math.isclose(blended["decline"], WEIGHT * mine["decline"])
    assert list(blended) == sorted(blended, key=lambda name: -blended[name])


def test_saved_scorer_scores_the_same(scorer: EncoderScorer, tmp_path: Path) -> None:
    scorer.save(tmp_path / "enc")
    loaded = EncoderScorer.load(tmp_path / "enc")
    text = "I paid already, why do you keep writing"
    assert loaded.classes == scorer.classes
    assert loaded.probabilities(text) == pytest.approx(scorer.probabilities(text))
    assert loaded.applies(text) and not loaded.applies("уже оплатил")


def test_fitting_without_english_names_the_language() -> None:
    with pytest.raises(ValueError, match="'en'"):
        EncoderScorer.fit([Example("стоп", "stop", "ru"), Example("ок", "thanks", "ru")])


def test_a_model_without_an_encoder_is_served_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert served_encoder(tmp_path) is None  # no models/ at all
    model = tmp_path / "models" / "nlu-0123456789abcdef.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"not really a model")
    with caplog.at_level(logging.WARNING, logger="nlu.sentence_encoder"):
        assert served_encoder(tmp_path) is None
    assert "nlu-0123456789abcdef.tar.gz has no sentence encoder" in caplog.text
    assert encoder_dir(model).name == "nlu-0123456789abcdef.encoder"


def test_the_served_encoder_is_the_newest_models(scorer: EncoderScorer, tmp_path: Path) -> None:
    model = tmp_path / "models" / "nlu-0123456789abcdef.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"not really a model")
    scorer.save(encoder_dir(model))
    served = served_encoder(tmp_path)
    assert served is not None and served.classes == scorer.classes
    assert encoder_for(model) is served  # loaded once, shared by every app in the process


def test_an_external_server_gets_the_scorer_of_the_model_it_names(
    scorer: EncoderScorer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    named = models / "nlu-00000000000000aa.encoder"
    scorer.save(named)
    newer = models / "nlu-00000000000000bb.tar.gz"
    newer.write_bytes(b"not really a model")
    scorer.save(encoder_dir(newer))
    # the server's own path may be anywhere; only the file name is looked up here
    served = encoder_for_served(tmp_path, "/srv/rasa/models/nlu-00000000000000aa.tar.gz")
    assert served is not None and served is encoder_for(models / "nlu-00000000000000aa.tar.gz")
    assert served is not encoder_for(newer)
    with caplog.at_level(logging.WARNING, logger="nlu.sentence_encoder"):
        assert encoder_for_served(tmp_path, "nlu-00000000000000cc.tar.gz") is None
        assert encoder_for_served(tmp_path, "") is None
    assert "nlu-00000000000000cc.tar.gz has no sentence encoder" in caplog.text
    assert "names no model" in caplog.text
