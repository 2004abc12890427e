"""Commands a shopper may type (R-RP7): /status, /help, /operator and their plain words.

Deterministic, in every language; a command becomes the payload of the flow it starts.
"""

from __future__ import annotations

import re

from nlu.rules import is_cjk, normalize

# payload → whole messages (normalized) that mean it; "/status" etc. are matched separately
_WORDS: dict[str, frozenset[str]] = {
    "status": frozenset(
        {
            "status", "order status", "my order status", "where is my order", "wheres my order",
            "статус", "статус заказа", "где мой заказ", "где заказ", "мой заказ",
            "status zamówienia", "status zamowienia", "gdzie moje zamówienie",
            "gdzie moje zamowienie", "gdzie jest moje zamówienie",
            "订单状态", "查订单", "我的订单在哪", "我的订单在哪里", "订单在哪",
        }
    ),
    "help": frozenset(
        {
            "help", "menu", "start", "помощь", "помогите", "меню", "начать", "справка",
            "pomoc", "pomocy", "帮助", "菜单", "开始",
        }
    ),
    "operator": frozenset(
        {
            "operator", "human", "agent", "оператор", "человек", "менеджер", "operatora",
            "konsultant", "człowiek", "czlowiek", "人工", "客服", "转人工", "人工客服",
        }
    ),
}  # fmt: skip
_SLASH = re.compile(r"^\s*/(status|help|start|menu|operator)(@\w+)?\s*$", re.IGNORECASE)
_SLASH_PAYLOAD = {"status": "status", "help": "help", "start": "help", "menu": "help",
                  "operator": "operator"}  # fmt: skip
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_POLISH = re.compile(r"[ąćęłńóśźż]|\b(dzień|czesc|cześć|gdzie|jest|zamówieni|prosz|mam|nie)\b")


def command_payload(text: str) -> str | None:
    """The payload a typed command stands for ("/status" → "status"), or None."""
    match = _SLASH.match(text)
    if match:
        return _SLASH_PAYLOAD[match.group(1).lower()]
    normalized = normalize(text)
    compact = normalized.replace(" ", "") if is_cjk(normalized) else normalized
    for payload, words in _WORDS.items():
        if normalized in words or compact in words:
            return payload
    return None


def guess_language(text: str, default: str) -> str:
    """The shopper's language from the script and a few words: ru, zh, pl, en, else default."""
    lowered = text.casefold()
    if _CYRILLIC.search(lowered):
        return "ru"
    if is_cjk(lowered):
        return "zh"
    if _POLISH.search(lowered):
        return "pl"
    if re.search(r"[a-z]", lowered):
        return "en"
    return default
