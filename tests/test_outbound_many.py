"""`Outbound.send_many`: every row committed `sending` before any provider call (R-SR9),
outcomes recorded per message, results in the order given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app_keys import OUTBOUND, SESSIONS
from bot.channels.base import OutboundMessage, SendResult
from bot.outbound import SendItem
from bot.store.models import Contact, Message
from tests.factory import contact_row


class Probe:
    """A provider that, at each call, reads what another session sees committed."""

    def __init__(self, sessions: Any) -> None:
        self.name = "whatsapp"
        self.sessions = sessions
        self.seen: list[list[str]] = []

    async def send(self, to: str, message: OutboundMessage) -> SendResult:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Message.status).order_by(Message.id))).all()
        self.seen.append(list(rows))
        if to.endswith("3"):
            return SendResult("failed", error_code="131026", error_reason="not on WhatsApp")
        if to.endswith("4"):
            raise RuntimeError("provider vanished")
        return SendResult("sent", provider_message_id=f"wamid-{to}")


async def _contacts(client: Any, count: int) -> list[Contact]:
    contacts = [contact_row(f"many-{n}", phone=f"+7916000000{n}") for n in range(count)]
    async with client.app[SESSIONS].begin() as session:
        session.add_all(contacts)
    return contacts


async def test_send_many_commits_sending_rows_first_then_outcomes(client: Any) -> None:
    outbound = client.app[OUTBOUND]
    probe = Probe(client.app[SESSIONS])
    outbound.clients["whatsapp"] = probe
    contacts = await _contacts(client, 6)
    items = [
        SendItem(c, "whatsapp", OutboundMessage(f"hi {n}"), author="bot")
        for n, c in enumerate(contacts[:5])
    ]
    items.append(SendItem(contacts[5], "telegram", OutboundMessage("no chat id")))
    sent = await outbound.send_many(items, concurrency=2)

    # Every provider call saw all five provider-bound rows (and the unroutable one) `sending`.
    assert len(probe.seen) == 5
    assert all(seen == ["sending"] * 6 for seen in probe.seen)
    assert [s.result.outcome for s in sent] == [
        "sent",
        "sent",
        "sent",
        "failed",
        "unknown",
        "failed",
    ]
    async with client.app[SESSIONS]() as session:
        rows = {m.id: m for m in (await session.scalars(select(Message))).all()}
    assert sorted(rows) == sorted(s.message_id for s in sent)
    by_order = [rows[s.message_id] for s in sent]
    assert [r.text for r in by_order[:5]] == [f"hi {n}" for n in range(5)]
    assert [r.status for r in by_order] == ["sent", "sent", "sent", "failed", "unknown", "failed"]
    assert by_order[0].provider_message_id == "wamid-+79160000000"
    assert by_order[3].error_code == "131026"
    assert by_order[5].error_code == "no_route" and by_order[5].address is None
    assert all(r.status_at is not None and r.direction == "out" for r in by_order)


async def test_send_many_of_nothing_writes_nothing(client: Any) -> None:
    assert await client.app[OUTBOUND].send_many([]) == []
