"""Provider error codes that must never be retried, with what they mean for a shopper."""

from __future__ import annotations

# Permanent: re-sending the same message cannot succeed (R-CH2); recorded with the meaning.
PERMANENT: dict[str, dict[str, str]] = {
    "whatsapp": {
        "131026": "undeliverable: the number is not on WhatsApp or cannot receive this message",
        "131047": "re-engagement: over 24 hours since the shopper's last message, use a template",
        "131049": "not delivered by Meta to keep ecosystem engagement healthy",
        "131051": "unsupported message type",
        "131021": "recipient cannot be the sender",
        "131008": "a required parameter is missing",
        "131009": "a parameter value is not valid",
        "132000": "template parameter count does not match",
        "132001": "template does not exist in this language",
        "190": "access token invalid or expired",
    },
    "sms": {
        "21610": "the shopper replied STOP: the number is unsubscribed",
        "30007": "carrier filtering: the message was flagged as spam",
        "63016": "outside the allowed window: free-form text not allowed, use a template",
        "21211": "invalid 'To' phone number",
        "21614": "'To' number is not a mobile number",
        "21408": "no permission to send to this region",
        "30003": "unreachable destination handset",
        "30005": "unknown destination handset",
        "30006": "landline or unreachable carrier",
        "20003": "authentication failed",
    },
    "telegram": {
        "blocked": "the shopper blocked the bot",
        "chat_not_found": "the chat does not exist or never started the bot",
        "bad_request": "Telegram rejected the request",
        "unauthorized": "the bot token was rejected",
    },
}

UNKNOWN_MEANING = "provider error"


def meaning(channel: str, code: str | None, fallback: str | None = None) -> str:
    """The human meaning of a provider error code, or the provider's own words."""
    if code is not None and code in PERMANENT.get(channel, {}):
        return PERMANENT[channel][code]
    return (fallback or UNKNOWN_MEANING)[:200]


def is_permanent(channel: str, code: str | None) -> bool:
    return code is not None and code in PERMANENT.get(channel, {})


# WhatsApp codes meaning the number cannot get WhatsApp messages at all (not a user, or an
# invalid WhatsApp user): the touch falls back and the number is remembered (R-SR7).
NO_WHATSAPP = frozenset({"131026", "1013"})
