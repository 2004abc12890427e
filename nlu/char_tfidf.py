"""TF-IDF over character n-grams + logistic regression, stored as plain arrays (no pickle).

The Rasa pipeline blends its probabilities with DIET's (nlu/rasa_blend.py); it runs in
`.venv-rasa` as well as `.venv`, so only numpy and scikit-learn (for fitting) are used.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

NGRAMS = (2, 4)
C = 10.0
_VOCABULARY = "vocabulary.json"
_ARRAYS = "weights.npz"


def vectorizer() -> Any:
    """TF-IDF over character n-grams: the features of the blend and of the tfidf-lr baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True)


def classifier() -> Any:
    """The logistic regression over those features (blend and baseline alike)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000)


class CharTfidfScorer:
    """Intent probabilities for texts; fitted with scikit-learn, scored with numpy."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: Any,
        coef: Any,
        intercept: Any,
        classes: Sequence[str],
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = list(classes)
        self._analyze: Callable[[str], list[str]] = vectorizer().build_analyzer()

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str]) -> CharTfidfScorer:
        features_of = vectorizer()
        features = features_of.fit_transform(list(texts))
        model = classifier().fit(features, list(labels))
        vocabulary = {str(k): int(v) for k, v in features_of.vocabulary_.items()}
        return cls(
            vocabulary,
            features_of.idf_,
            model.coef_,
            model.intercept_,
            [str(c) for c in model.classes_],
        )

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | text) for every intent the scorer was fitted on."""
        counts = Counter(self._analyze(text))
        known = [(self.vocabulary[g], n) for g, n in counts.items() if g in self.vocabulary]
        indexes = [index for index, _ in known]
        # sublinear tf (1 + log count) times idf, as TfidfVectorizer(sublinear_tf=True) does
        values = np.array(
            [(1.0 + math.log(n)) * self.idf[index] for index, n in known], dtype=np.float64
        )
        norm = float(np.linalg.norm(values))
        logits = self.intercept.copy()
        if indexes and norm > 0:
            logits = logits + self.coef[:, indexes] @ (values / norm)
        if len(self.classes) == 2:  # scikit-learn keeps one row for two classes
            positive = 1.0 / (1.0 + math.exp(-float(logits[0])))
            return {self.classes[0]: 1.0 - positive, self.classes[1]: positive}
        exp = np.exp(logits - logits.max())
        probs = exp / exp.sum()
        return {name: float(p) for name, p in zip(self.classes, probs, strict=True)}

    def save(self, directory: Path) -> None:
        (directory / _VOCABULARY).write_text(
            json.dumps({"classes": self.classes, "vocabulary": self.vocabulary}),
            encoding="utf-8",
        )
        np.savez_compressed(
            directory / _ARRAYS, idf=self.idf, coef=self.coef, intercept=self.intercept
        )

    @classmethod
    def load(cls, directory: Path) -> CharTfidfScorer:
        names = json.loads((directory / _VOCABULARY).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS, allow_pickle=False) as arrays:
            return cls(
                names["vocabulary"],
                arrays["idf"],
                arrays["coef"],
                arrays["intercept"],
                names["classes"],
            )


def blend(
    model: dict[str, float], scorer: dict[str, float], model_weight: float
) -> list[tuple[str, float]]:
    """Weighted mean of two rankings (an intent missing from one counts as 0), best first."""
    names = set(model) | set(scorer)
    mixed = {
        name: model_weight * model.get(name, 0.0) + (1.0 - model_weight) * scorer.get(name, 0.0)
        for name in names
    }
    return sorted(mixed.items(), key=lambda item: (-item[1], item[0]))


def reweigh(
    ranking: Sequence[tuple[str, float]], weights: dict[str, float]
) -> list[tuple[str, float]]:
    """The ranking with some intents' probabilities scaled, renormalised to sum 1, best first."""
    if not weights:
        return list(ranking)
    scaled = {name: p * weights.get(name, 1.0) for name, p in ranking}
    total = sum(scaled.values())
    if total <= 0:
        return list(ranking)
    return sorted(((n, p / total) for n, p in scaled.items()), key=lambda item: (-item[1], item[0]))
