"""What the sentence-encoder scorers share: a logistic regression over embeddings stored as
plain arrays, its blend into a ranking, and an encoder loaded once per process."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from nlu.char_tfidf import blend

log = logging.getLogger(__name__)

T = TypeVar("T")

_ARRAYS = "weights.npz"
_NAMES = "classes.json"


class LinearHead:
    """P(intent | embedding): logistic-regression weights fitted with scikit-learn, scored with
    numpy, saved without pickle."""

    def __init__(
        self, coef: npt.ArrayLike, intercept: npt.ArrayLike, classes: Sequence[str]
    ) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = list(classes)

    @classmethod
    def fit(cls, vectors: npt.ArrayLike, labels: Sequence[str], c: float) -> LinearHead:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(vectors, list(labels))
        return cls(model.coef_, model.intercept_, [str(name) for name in model.classes_])

    def probabilities(self, vector: npt.NDArray[np.float64]) -> dict[str, float]:
        return softmax_reading(vector @ self.coef.T + self.intercept, self.classes)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _ARRAYS, coef=self.coef, intercept=self.intercept)
        (directory / _NAMES).write_text(json.dumps({"classes": self.classes}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LinearHead:
        names = json.loads((directory / _NAMES).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS, allow_pickle=False) as arrays:
            coef, intercept = arrays["coef"], arrays["intercept"]
        return cls(coef, intercept, names["classes"])

    @staticmethod
    def is_saved(directory: Path) -> bool:
        """True when `directory` holds saved weights (the names are written last)."""
        return (directory / _NAMES).exists()

    @staticmethod
    def weights_path(directory: Path) -> Path:
        return directory / _ARRAYS


def softmax_reading(scores: npt.NDArray[np.float64], classes: Sequence[str]) -> dict[str, float]:
    """A head's scores, one per class, as probabilities by class name."""
    exp = np.exp(scores - scores.max())
    return dict(zip(classes, (exp / exp.sum()).tolist(), strict=True))


def blend_reading(
    ranking: Sequence[tuple[str, float]], reading: dict[str, float], weight: float
) -> list[tuple[str, float]]:
    """A ranking (without Rasa's fallback entry) blended with a scorer's reading, which gets
    `weight` of the say."""
    model = {name: p for name, p in ranking if name != "nlu_fallback"}
    return blend(model, reading, 1.0 - weight)


class LoadedOnce(Generic[T]):
    """An encoder loaded on first use, once per process; a failed load is remembered, so
    messages do not wait for it again and again."""

    def __init__(self, load: Callable[[], T], unavailable: type[RuntimeError], what: str) -> None:
        self._load = load
        self._unavailable = unavailable
        self._what = what
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: Exception | None = None

    def __call__(self) -> T:
        with self._lock:
            if self._error is not None:
                raise self._unavailable(str(self._error)) from self._error
            if self._value is None:
                try:
                    self._value = self._load()
                except Exception as exc:
                    self._error = exc
                    log.error("the %s cannot be loaded (%s): it is left out", self._what, exc)
                    raise self._unavailable(str(exc)) from exc
            return self._value
