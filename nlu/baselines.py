"""Two baselines trained on the same data as the shipped model, for `make nlu-report`.

Both predict the training labels (fine intents); the report maps them onto routing intents.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from nlu.char_tfidf import classifier, vectorizer
from nlu.dataset import Example
from nlu.intents import known_intents
from nlu.rules import is_cjk, normalize


def _tokens(text: str) -> list[str]:
    """Words; CJK runs become character bigrams (Chinese has no spaces)."""
    tokens: list[str] = []
    for word in normalize(text).split():
        if is_cjk(word):
            tokens.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        else:
            tokens.append(word)
    return tokens


class KeywordMatcher:
    """Learns, per intent, the tokens that almost only occur in that intent; counts hits."""

    def __init__(self, min_count: int = 2, min_purity: float = 0.8) -> None:
        self.min_count = min_count
        self.min_purity = min_purity
        self.keywords: dict[str, str] = {}

    def fit(self, examples: Sequence[Example]) -> KeywordMatcher:
        by_token: dict[str, Counter[str]] = defaultdict(Counter)
        for example in examples:
            for token in set(_tokens(example.text)):
                by_token[token][example.intent] += 1
        for token, counts in by_token.items():
            intent, count = counts.most_common(1)[0]
            if count >= self.min_count and count / sum(counts.values()) >= self.min_purity:
                self.keywords[token] = intent
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        predictions = []
        for text in texts:
            hits = Counter(self.keywords[t] for t in _tokens(text) if t in self.keywords)
            predictions.append(hits.most_common(1)[0][0] if hits else "other")
        return predictions


class TfidfLogReg:
    """scikit-learn TF-IDF over character n-grams + logistic regression."""

    def __init__(self) -> None:
        from sklearn.pipeline import make_pipeline

        self.model: Any = make_pipeline(vectorizer(), classifier())

    def fit(self, examples: Sequence[Example]) -> TfidfLogReg:
        self.model.fit([e.text.lower() for e in examples], [e.intent for e in examples])
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        labels = self.model.predict([t.lower() for t in texts])
        return [str(label) if label in known_intents() else "other" for label in labels]
