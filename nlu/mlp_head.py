"""P(intent | embedding) from a one-hidden-layer perceptron: fitted with scikit-learn, scored with
numpy, saved as plain arrays (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nlu.linear_head import softmax_reading

_ARRAYS = "mlp-weights.npz"
_NAMES = "mlp-classes.json"

# the hidden layer's width, its L2 penalty and the epochs, chosen on the dev sets (nlu/README.md)
HIDDEN = 512
ALPHA = 1e-2
EPOCHS = 60
SEED = 0
EARLY_STOPPING_MIN = 1000


class MlpHead:
    """relu(vector · W1 + b1) · W2 + b2, then softmax over the intents."""

    def __init__(
        self,
        hidden: tuple[npt.ArrayLike, npt.ArrayLike],
        out: tuple[npt.ArrayLike, npt.ArrayLike],
        classes: Sequence[str],
    ) -> None:
        self.w1, self.b1 = (np.asarray(a, dtype=np.float64) for a in hidden)
        self.w2, self.b2 = (np.asarray(a, dtype=np.float64) for a in out)
        self.classes = list(classes)

    @classmethod
    def fit(cls, vectors: npt.ArrayLike, labels: Sequence[str]) -> MlpHead:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        labels = list(labels)
        model = MLPClassifier(
            (HIDDEN,),
            alpha=ALPHA,
            max_iter=EPOCHS,
            # a tenth of the examples is held back to stop on: only when there are enough of them
            early_stopping=len(labels) >= EARLY_STOPPING_MIN,
            random_state=SEED,
        )
        with warnings.catch_warnings():
            # early stopping or the epoch budget ends the fit; either is expected here
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(vectors, labels)
        (w1, w2), (b1, b2) = model.coefs_, model.intercepts_
        return cls((w1, b1), (w2, b2), [str(name) for name in model.classes_])

    def probabilities(self, vector: npt.NDArray[np.float64]) -> dict[str, float]:
        hidden = np.maximum(vector @ self.w1 + self.b1, 0.0)
        return softmax_reading(hidden @ self.w2 + self.b2, self.classes)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _ARRAYS, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)
        (directory / _NAMES).write_text(json.dumps({"classes": self.classes}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> MlpHead:
        names = json.loads((directory / _NAMES).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS, allow_pickle=False) as arrays:
            hidden = (arrays["w1"], arrays["b1"])
            out = (arrays["w2"], arrays["b2"])
        return cls(hidden, out, names["classes"])

    @staticmethod
    def is_saved(directory: Path) -> bool:
        return (directory / _NAMES).exists()
