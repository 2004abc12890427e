"""The live path for every shopper message: redact → rules → Rasa → threshold → routing intent."""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping

from nlu.address import calls_someone_else, says_it_was_sent_elsewhere
from nlu.client import CircuitBreaker, NluUnavailable, Parse, RasaClient
from nlu.intents import to_routing
from nlu.redact import redact, without_masks
from nlu.rules import (
    Refutation,
    apply_rules,
    complains_of_late_order,
    gives_up,
    normalize,
    only_asks_who_wrote,
    refuted_opt_out,
)
from nlu.sentence_encoder import EncoderScorer
from nlu.types import DEFAULT_THRESHOLD, Classification

log = logging.getLogger(__name__)

# a weaker opt-out reading gives way to the best other one: on the dev sets 11 of the 13 below
# it were wrong (nlu/README.md, "Eighteenth to twenty-first cuts")
OPT_OUT_MIN_CONFIDENCE = 0.35
# a decline whose stop reading is at least this share of it is a stop: refusing every message
# wins over refusing this checkout (on the dev sets 0.7 moved one stop right and no decline)
STOP_OVER_DECLINE = 0.7


class LiveClassifier:
    """Implements nlu.types.Classifier; never raises — an unreachable NLU means 'unavailable'."""

    def __init__(
        self,
        client: RasaClient | None,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        ready: Callable[[], bool] | None = None,
        observe: Callable[[float], None] | None = None,
        encoder: EncoderScorer | None = None,
    ) -> None:
        self.client = client
        # English text: the sentence encoder's reading blended into Rasa's (None: Rasa alone)
        self.encoder = encoder
        self.threshold = threshold
        # False while a supervised server is (re)starting: skip the HTTP call altogether
        self.ready = ready or (lambda: True)
        self.observe = observe

    @property
    def status(self) -> str:
        """'ok' when free text can reach the model, else 'degraded'."""
        if self.client is None or not self.ready():
            return "degraded"
        return "ok" if self.client.available else "degraded"

    async def classify(self, text: str, offered: Mapping[str, str] | None = None) -> Classification:
        started = time.perf_counter()
        try:
            return await self._classify(text if isinstance(text, str) else str(text), offered)
        except Exception:  # a shopper's message must never crash the service
            log.exception("classification failed; routing the message to an operator")
            return Classification("other", 0.0, "unavailable", None, redact(str(text)).text)
        finally:
            if self.observe is not None:
                self.observe(time.perf_counter() - started)

    async def _classify(self, text: str, offered: Mapping[str, str] | None) -> Classification:
        redaction = redact(text)
        clean = redaction.text
        removed = redaction.card_data_removed
        match = apply_rules(clean, offered)
        if match is not None:
            if match.detail == "no":
                # every message the shopper answers offers the checkout: a bare "no" declines it
                return Classification("opt_out", 1.0, "rule", "decline", clean, removed)
            return Classification(match.intent, 1.0, "rule", match.detail, clean, removed)
        readable = without_masks(clean)
        if not normalize(readable):
            # only emoji / punctuation: nothing for a model to read; emoji acknowledge (👍 🙏)
            emoji = any(unicodedata.category(ch) == "So" for ch in clean)
            return Classification(
                "other", 1.0, "rule", "thanks" if emoji else "empty", clean, removed
            )
        if self.client is None or not self.ready():
            return Classification("other", 0.0, "unavailable", None, clean, removed)
        try:
            parse = await self.client.parse(readable)
        except NluUnavailable as exc:
            log.warning("NLU unavailable (%s); free text goes to an operator", exc)
            return Classification("other", 0.0, "unavailable", None, clean, removed)
        if self.encoder is not None and self.encoder.reads(readable):
            try:
                parse = await asyncio.to_thread(self._with_encoder, self.encoder, parse, readable)
            except Exception:
                log.exception("a sentence encoder failed; Rasa's reading stands")
        parse = late_order_is_no_decline(giving_up_is_a_decline(parse, readable), readable)
        # only an opt-out reading can be taken back
        refuted = refuted_opt_out(readable) if to_routing(parse.intent) == "opt_out" else None
        parse = doubt_weak_opt_out(
            meant_for_someone_else(take_back_refusal(parse, refuted), readable)
        )
        if refuted is None:
            parse = prefer_stop_when_close(parse)
        parse = a_question_is_no_stop(parse, readable)
        model_intent = parse.intent
        confidence = parse.confidence
        if model_intent == "nlu_fallback":
            # Rasa's FallbackClassifier fired: report the best real intent as detail
            real = [(name, c) for name, c in parse.ranking if name != "nlu_fallback"]
            detail = real[0][0] if real else None
            top = real[0][1] if real else confidence
            return Classification("other", top, "threshold", detail, clean, removed)
        if confidence < self.threshold:
            return Classification("other", confidence, "threshold", model_intent, clean, removed)
        routing = to_routing(model_intent)
        return Classification(routing, confidence, "model", model_intent, clean, removed)

    @staticmethod
    def _with_encoder(encoder: EncoderScorer, parse: Parse, text: str) -> Parse:
        # a server that sends no ranking still names its intent: blend that one
        ranking = encoder.read(parse.ranking or ((parse.intent, parse.confidence),), text)
        name, confidence = ranking[0]
        return Parse(name, confidence, tuple(ranking))

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def take_back_refusal(parse: Parse, refuted: Refutation | None) -> Parse:
    """The parse with an opt-out the text takes back (nlu.rules.refuted_opt_out) replaced by
    the best reading it leaves: a negated cancel leaves no opt-out, a negated unsubscribe no
    stop, and beside an outright cancel a stop is a decline. Unchanged when nothing is taken
    back or nothing else was read."""
    if refuted == "decline" and parse.intent == "stop":
        return Parse("decline", parse.confidence, parse.ranking)
    if refuted == "cancel" and to_routing(parse.intent) == "opt_out":
        return _best_reading(parse, lambda name: to_routing(name) != "opt_out")
    if refuted == "unsubscribe" and parse.intent == "stop":
        return _best_reading(parse, lambda name: name != "stop")
    return parse


def giving_up_is_a_decline(parse: Parse, text: str) -> Parse:
    """A payment or late-order reading of a message that gives up ("payment failed twice,
    forget it", "支付宝付款失败，那就算了", "the last parcel never came, cancel this one too") is a
    `decline`: the shopper is done with this checkout."""
    if to_routing(parse.intent) != "payment" and parse.intent != "where_is_my_order":
        return parse
    if not gives_up(text):
        return parse
    return Parse("decline", parse.confidence, parse.ranking)


def late_order_is_no_decline(parse: Parse, text: str) -> Parse:
    """A `decline` reading of a complaint that an earlier order is late or lost is
    `where_is_my_order`: an angry "still not here" is a delivery dispute, not a refusal."""
    if parse.intent != "decline" or not complains_of_late_order(text):
        return parse
    return Parse("where_is_my_order", parse.confidence, parse.ranking)


def meant_for_someone_else(parse: Parse, text: str) -> Parse:
    """A message that calls a relative, a partner or a friend, or says it went to the wrong chat
    (nlu.address), read as `wrong_chat`: a "no" in it is not the shop's, nor a "later" ("Kasia,
    nie czekaj na mnie, wrócę później"). A payment reading or a call for a person stands: a
    paid signal or an operator is never dropped on a name."""
    if parse.intent in ("wrong_chat", "human") or to_routing(parse.intent) == "payment":
        return parse
    if not (calls_someone_else(text) or says_it_was_sent_elsewhere(text)):
        return parse
    return Parse("wrong_chat", parse.confidence, parse.ranking)


def a_question_is_no_stop(parse: Parse, text: str) -> Parse:
    """A `stop` reading of "who gave you my number?" with no demand beside it is
    `who_is_this`: the shopper asks, and an answer says who writes and why."""
    if parse.intent != "stop" or not only_asks_who_wrote(text):
        return parse
    return Parse("who_is_this", parse.confidence, parse.ranking)


def doubt_weak_opt_out(parse: Parse) -> Parse:
    """The parse with an opt-out below OPT_OUT_MIN_CONFIDENCE replaced by the best reading of
    another class (the threshold then judges that one); unchanged when there is none."""
    if to_routing(parse.intent) != "opt_out" or parse.confidence >= OPT_OUT_MIN_CONFIDENCE:
        return parse
    return _best_reading(parse, lambda name: to_routing(name) != "opt_out")


def _best_reading(parse: Parse, allowed: Callable[[str], bool]) -> Parse:
    """The parse moved to its most confident allowed reading (never Rasa's fallback entry);
    unchanged when the ranking has none."""
    kept = [(n, c) for n, c in parse.ranking if n != "nlu_fallback" and allowed(n)]
    if not kept:
        return parse
    name, confidence = max(kept, key=lambda item: item[1])
    return Parse(name, confidence, parse.ranking)


def prefer_stop_when_close(parse: Parse) -> Parse:
    """A `decline` whose `stop` reading comes within STOP_OVER_DECLINE of it is read as `stop`;
    the opt-out keeps the decline's confidence, only the fine intent changes."""
    if parse.intent != "decline":
        return parse
    stop = max((c for name, c in parse.ranking if name == "stop"), default=0.0)
    if stop < STOP_OVER_DECLINE * parse.confidence:
        return parse
    return Parse("stop", parse.confidence, parse.ranking)


def build_classifier(
    url: str | Callable[[], str] | None,
    token: str | Callable[[], str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    timeout: float = 2.0,
    breaker: CircuitBreaker | None = None,
    encoder: EncoderScorer | None = None,
) -> LiveClassifier:
    """A classifier against the Rasa server at `url` (None: rules only, free text unavailable)."""
    if url is None or url == "":
        return LiveClassifier(None, threshold, encoder=encoder)
    client = RasaClient(url, token, timeout=timeout, breaker=breaker)
    return LiveClassifier(client, threshold, encoder=encoder)
