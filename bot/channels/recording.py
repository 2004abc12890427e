"""An in-process channel that accepts every message (unit tests that need no provider)."""

from __future__ import annotations

import itertools

from bot.channels.base import ChannelName, OutboundMessage, SendResult


class RecordingClient:
    """Keeps what it was asked to send; answers `sent` with a made-up provider id."""

    def __init__(self, name: ChannelName) -> None:
        self.name: ChannelName = name
        self.sent: list[tuple[str, OutboundMessage]] = []
        self._ids = itertools.count(1)
        self.unreachable: set[str] = set()

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        if to in self.unreachable:
            return SendResult("no_account", error_code="131026", error_reason="not on channel")
        self.sent.append((to, message))
        return SendResult("sent", provider_message_id=f"{self.name}-{next(self._ids)}")
