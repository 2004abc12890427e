"""SQLAlchemy models: the whole persistent state of Nudge, minimal by design (R-PS1, R-PZ1).

Card data never reaches these tables; names are first names only; a checkout keeps one item.
One module per part; every model is importable from here, and importing this package puts
every table on `Base.metadata` (Alembic compares against it).
"""

from bot.store.models.base import Base, BigId, UtcDateTime
from bot.store.models.conversations import (
    AuditEntry,
    Conversation,
    InboundWebhook,
    Message,
    Operator,
    Rating,
    TelegramLinkUse,
)
from bot.store.models.shop import (
    ApiKey,
    Checkout,
    Consent,
    Contact,
    Event,
    IntegrationCursor,
    PaidCheck,
)
from bot.store.models.touches import Chain, Instance, ReportStaleContact, Touch

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "BigId",
    "Chain",
    "Checkout",
    "Consent",
    "Contact",
    "Conversation",
    "Event",
    "InboundWebhook",
    "Instance",
    "IntegrationCursor",
    "Message",
    "Operator",
    "PaidCheck",
    "Rating",
    "ReportStaleContact",
    "TelegramLinkUse",
    "Touch",
    "UtcDateTime",
]
