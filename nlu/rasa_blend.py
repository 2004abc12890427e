"""A Rasa intent classifier that blends DIET's ranking with char TF-IDF + LR (config.yml).

Runs inside `.venv-rasa` only (Rasa puts the working directory, the project root, on
sys.path). DIET is confident even when wrong; the linear model is steadier on alphabetic
replies (ru, en, pl), DIET with its char unigrams on Chinese, so Chinese text has its own weight:
on the dev sets the blend beat either alone.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.char_tfidf import CharTfidfScorer, blend, reweigh
from nlu.rules import is_cjk

RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CharTfidfBlend(GraphComponent):  # type: ignore[misc]
    """Replaces the intent and ranking set by the classifier before it with the blend."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # the share of DIET's probability in the blend, for text with Chinese characters and
        # for the rest; config.yml sets the ones chosen on the dev sets
        return {"model_weight": 0.35, "cjk_model_weight": 0.35, "intent_weights": {}}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        scorer: CharTfidfScorer | None = None,
    ) -> None:
        self.model_weight = float(config["model_weight"])
        self.cjk_model_weight = float(config["cjk_model_weight"])
        self.intent_weights = {
            str(name): float(weight)
            for name, weight in (config.get("intent_weights") or {}).items()
        }
        self._model_storage = model_storage
        self._resource = resource
        self.scorer = scorer

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharTfidfBlend:
        # Rasa has merged get_default_config() into `config` already (GraphNode)
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, **kwargs: Any) -> CharTfidfBlend:
        """For inference: `create`'s component with the scorer trained into the resource."""
        blend = cls.create(**kwargs)
        with blend._model_storage.read_from(blend._resource) as directory:
            blend.scorer = CharTfidfScorer.load(directory)
        return blend

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get("text") and m.get("intent")]
        self.scorer = CharTfidfScorer.fit(
            [str(m.get("text")) for m in examples], [str(m.get("intent")) for m in examples]
        )
        with self._model_storage.write_to(self._resource) as directory:
            self.scorer.save(directory)
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self.scorer is None:
            return messages
        for message in messages:
            text = str(message.get("text") or "")
            if not text:
                continue
            before = {
                str(item["name"]): float(item["confidence"])
                for item in message.get("intent_ranking") or []
            }
            weight = self.cjk_model_weight if is_cjk(text) else self.model_weight
            ranking = reweigh(
                blend(before, self.scorer.probabilities(text), weight), self.intent_weights
            )
            name, confidence = ranking[0]
            message.set("intent", {"name": name, "confidence": confidence}, add_to_output=True)
            message.set(
                "intent_ranking",
                [{"name": n, "confidence": c} for n, c in ranking[:RANKING_LENGTH]],
                add_to_output=True,
            )
        return messages
