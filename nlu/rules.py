"""R-RP1: deterministic understanding that never depends on the model.

Stop words (ru/en/pl/zh), digits and button payloads offered by the touch, the commonest
exact declines and thanks (R-RP6), yes/no words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from nlu.rule_words import (
    AROUND_A_DECLINE,
    CANCEL_CUE,
    DECLINE_PHRASES,
    FILLERS,
    GIVE_UP_CUE,
    LATE_ORDER_CUE,
    NEGATED_CANCEL,
    NEGATED_UNSUBSCRIBE,
    NO_WORDS,
    POLITENESS,
    STOP_CUE,
    STOP_DEMAND,
    STOP_EMOJI,
    STOP_PHRASES,
    STOP_SENTENCES,
    THANKS_COMPANIONS,
    THANKS_INTENSIFIERS,
    THANKS_WORDS,
    TRADITIONAL_TO_SIMPLIFIED,
    WHO_GAVE_MY_NUMBER,
    YES_WORDS,
    ZH_STOP,
    ZH_UNSUBSCRIBE,
)
from nlu.types import ROUTING_INTENTS, RoutingIntent

_KEYCAPS = {f"{d}\ufe0f\u20e3": d for d in "0123456789"} | {f"{d}\u20e3": d for d in "0123456789"}
_SPACES = re.compile(r"\s+")
_SCRIPT_BOUNDARY = re.compile(
    r"(?<=[\u3400-\u9fff])(?=[^\u3400-\u9fff\s])|(?<=[^\u3400-\u9fff\s])(?=[\u3400-\u9fff])"
)


# what a negated refusal word takes back (refuted_opt_out)
Refutation = Literal["cancel", "unsubscribe", "decline"]
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """Whether the text holds Chinese characters (pinyin is Latin script and does not count)."""
    return _CJK.search(text) is not None


def _is_cjk_word(word: str) -> bool:
    return bool(word) and all("\u3400" <= ch <= "\u9fff" for ch in word)


_CJK_POLITENESS = sorted((w for w in POLITENESS if _is_cjk_word(w)), key=len, reverse=True)


@dataclass(frozen=True)
class RuleMatch:
    intent: RoutingIntent
    detail: str


def fold(text: str) -> str:
    """Case, ё, simplified Chinese and apostrophes folded (don't → dont); punctuation kept."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е").replace("’", "'")
    return text.translate(TRADITIONAL_TO_SIMPLIFIED).replace("'", "")


def normalize(text: str) -> str:
    """Lower-case words only: no punctuation, emoji, symbols; ё→е; simplified Chinese; single
    spaces."""
    text = fold(text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in "LN" or ch.isspace():
            kept.append(ch)
        elif category[0] in "PSZ":
            kept.append(" ")
        # marks (variation selectors, keycaps), controls and zero-width joiners are dropped
    joined = _SCRIPT_BOUNDARY.sub(" ", "".join(kept))  # "请stop" → "请 stop"
    return _SPACES.sub(" ", joined).strip()


def _strip_politeness(words: list[str]) -> list[str]:
    return [w for w in words if w not in POLITENESS]


def _compact(text: str) -> str:
    """Chinese has no spaces: drop polite particles and spaces to compare with stop phrases."""
    compact = text.replace(" ", "")
    for word in _CJK_POLITENESS:
        compact = compact.replace(word, "")
    return compact


def is_stop(text: str) -> bool:
    """True when the whole message asks to stop (a stop word plus politeness at most)."""
    raw = text.strip()
    if raw and all(ch in STOP_EMOJI or not ch.strip() or ch == "\ufe0f" for ch in raw):
        return True
    normalized = normalize(text)
    if not normalized:
        return False
    words = [_compact(w) for w in _strip_politeness(normalized.split())]
    words = [w for w in words if w]
    if words:
        phrase = " ".join(words)
        if phrase in STOP_PHRASES:
            return True
        # "stop stop stop", "STOP STOP"
        if all(w in STOP_PHRASES for w in words) and len(set(words)) == 1:
            return True
    compact = "".join(words)
    if compact in STOP_PHRASES or ZH_STOP.match(compact):
        return True
    sentence = " ".join(w for w in normalized.split() if w not in FILLERS)
    if sentence in STOP_PHRASES or any(pattern.match(sentence) for pattern in STOP_SENTENCES):
        return True
    # 退订, the standard SMS keyword, anywhere in a short message
    return bool(ZH_UNSUBSCRIBE.search(compact)) and len(compact) <= 8


def is_decline(text: str) -> bool:
    """True when the whole message declines this checkout in one of the commonest ways."""
    normalized = normalize(text)
    if not normalized:
        return False
    words = normalized.split()
    # "nie trzeba, dziękuję bardzo": beside a thank-you its intensifiers go with it
    around = (
        AROUND_A_DECLINE | THANKS_INTENSIFIERS if THANKS_WORDS & set(words) else AROUND_A_DECLINE
    )
    sentence = " ".join(w for w in words if w not in around)
    return any(
        candidate in DECLINE_PHRASES
        for candidate in (normalized, sentence, _compact(normalized), _compact(sentence))
    )


def _segment(text: str, vocabulary: frozenset[str]) -> list[str]:
    """Chinese text split into vocabulary words, longest first ("好的谢谢" → 好的 谢谢)."""
    words: list[str] = []
    start = 0
    while start < len(text):
        size = next((n for n in range(4, 0, -1) if text[start : start + n] in vocabulary), 1)
        words.append(text[start : start + size])
        start += size
    return words


def is_thanks(text: str) -> bool:
    """True when the whole message is a thank-you (with ok/great/very much around it)."""
    normalized = normalize(text)
    words = normalized.split()
    if not words:
        return False
    known = THANKS_WORDS | THANKS_COMPANIONS
    if len(words) == 1 and _is_cjk_word(words[0]):
        words = _segment(words[0], known)
    return all(w in known for w in words) and any(w in THANKS_WORDS for w in words)


def _offered_key(text: str, offered: Mapping[str, str]) -> str | None:
    stripped = text.strip()
    if stripped in offered:
        return stripped
    for keycap, digit in _KEYCAPS.items():
        stripped = stripped.replace(keycap, digit)
    candidate = stripped.strip(" .)(!,;:#№")
    if candidate in offered:
        return candidate
    folded = {key.casefold(): key for key in offered}
    return folded.get(normalize(stripped)) or folded.get(candidate.casefold())


def _yes_no(text: str) -> str | None:
    normalized = normalize(text)
    if not normalized:
        return None
    words = [w for w in normalized.split() if w not in {"please", "пожалуйста", "proszę", "请"}]
    phrase = " ".join(words)
    if phrase in YES_WORDS or _compact(phrase) in YES_WORDS - {"了"}:
        return "yes"
    if phrase in NO_WORDS or _compact(phrase) in NO_WORDS:
        return "no"
    # "да да", "нет нет"
    if words and len(set(words)) == 1:
        return "yes" if words[0] in YES_WORDS else "no" if words[0] in NO_WORDS else None
    return None


def _from_offered(key: str, offered: Mapping[str, str]) -> RuleMatch:
    action = offered[key]
    if action in ROUTING_INTENTS:
        return RuleMatch(intent=action, detail=action)
    return RuleMatch(intent="other", detail=action)


def apply_rules(text: str, offered: Mapping[str, str] | None = None) -> RuleMatch | None:
    """The deterministic answer for this message, or None when the model must decide."""
    offered = offered or {}
    key = _offered_key(text, offered)
    if key is not None:
        return _from_offered(key, offered)
    if is_stop(text):
        return RuleMatch(intent="opt_out", detail="stop")
    if "no" not in offered and is_decline(text):
        return RuleMatch(intent="opt_out", detail="decline")
    if is_thanks(text):
        return RuleMatch(intent="other", detail="thanks")
    answer = _yes_no(text)
    if answer is not None:
        if answer in offered:
            return _from_offered(answer, offered)
        return RuleMatch(intent="other", detail=answer)
    return None


def _light(text: str) -> str:
    """Folded text with single spaces and its punctuation kept, as the cue patterns read it."""
    return _SPACES.sub(" ", fold(text))


def _refuses_the_messages(light: str) -> bool:
    """Whether light text (see _light) has a word that refuses the messages outright ("не
    пишите", "don't call", "przestańcie", "退订"), whatever else it negates or asks."""
    return STOP_CUE.search(light) is not None or ZH_UNSUBSCRIBE.search(light) is not None


def refuted_opt_out(text: str) -> Refutation | None:
    """What a negated refusal word in the text takes back: "cancel" (any opt-out: "не
    отменяйте, я ещё хочу"), "unsubscribe" (only stop: "don't unsubscribe me, I'm still
    deciding"), "decline" when the order is cancelled outright beside a negated unsubscribe
    (a stop reading is a decline that keeps consent), or None, also when the text refuses the
    messages in other words."""
    light = _light(text)
    if _refuses_the_messages(light):
        return None
    if NEGATED_CANCEL.search(light):
        return "cancel"
    if NEGATED_UNSUBSCRIBE.search(light):
        return "decline" if CANCEL_CUE.search(light) else "unsubscribe"
    return None


def gives_up(text: str) -> bool:
    """Whether the text gives up ("payment failed twice, forget it", "не проходит, ну его",
    "支付宝付款失败，那就算了") and takes back no cancel ("don't cancel, I'll pay now")."""
    light = _light(text)
    return GIVE_UP_CUE.search(light) is not None and NEGATED_CANCEL.search(light) is None


def complains_of_late_order(text: str) -> bool:
    """Whether the text complains that an earlier order is late or lost ("my previous order is
    late, winter's here already") and gives nothing up ("still not here, cancel it" does)."""
    light = _light(text)
    return LATE_ORDER_CUE.search(light) is not None and GIVE_UP_CUE.search(light) is None


def only_asks_who_wrote(text: str) -> bool:
    """Whether the text asks who gave the shop its number ("哪来的我号码", "who gave you my
    number?") and demands nothing ("…? delete it" is a stop)."""
    light = _light(text)
    if _refuses_the_messages(light):
        return False
    return WHO_GAVE_MY_NUMBER.search(light) is not None and STOP_DEMAND.search(light) is None
