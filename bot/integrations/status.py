"""Each shop integration's state for /health and the admin console: connected, last activity,
last error. In memory; the retailCRM cursor itself is durable (bot/integrations/retailcrm.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web


@dataclass
class IntegrationStatus:
    name: str
    configured: bool
    last_event_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def event(self, at: datetime) -> None:
        self.last_event_at = at

    def synced(self, at: datetime) -> None:
        self.last_sync_at = at
        self.last_error = None

    def failed(self, at: datetime, error: str) -> None:
        self.last_error = error[:300]
        self.last_error_at = at

    @property
    def health(self) -> str:
        return f"degraded: {self.last_error}" if self.last_error else "ok"

    def as_dict(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "connected": self.configured,
            "last_event_at": stamp(self.last_event_at),
            "last_sync_at": stamp(self.last_sync_at),
            "last_error": self.last_error,
            "last_error_at": stamp(self.last_error_at),
        }


INTEGRATIONS: web.AppKey[dict[str, IntegrationStatus]] = web.AppKey("integrations")
