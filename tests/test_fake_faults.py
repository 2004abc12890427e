"""The fake WhatsApp's fault profile (bench-faults): its shares, and what each answer means."""

from __future__ import annotations

import random
from collections import Counter

import httpx

from bot.channels.fakes.loopback import LoopbackServer, Poster
from bot.channels.fakes.whatsapp import FakeWhatsApp, FaultProfile
from bot.settings import Settings


def test_fault_shares_follow_the_profile() -> None:
    profile = FaultProfile(0.05, 0.02, 0.01, rng=random.Random(1))
    picks = Counter(profile.pick() for _ in range(20_000))
    assert abs(picks["500"] / 20_000 - 0.05) < 0.01
    assert abs(picks["hang"] / 20_000 - 0.02) < 0.005
    assert abs(picks["429"] / 20_000 - 0.01) < 0.005


async def test_every_request_is_recorded_and_only_accepted_ones_carry_an_id() -> None:
    credentials = Settings(whatsapp_token="t", whatsapp_phone_number_id="1")
    fake = FakeWhatsApp(credentials, Poster(), callbacks=False)
    fake.faults = FaultProfile(0.3, 0.1, 0.2, hang=0.2, rng=random.Random(2))
    server = LoopbackServer(fake.app())
    url = await server.start()
    statuses: Counter[int] = Counter()
    try:
        async with httpx.AsyncClient(timeout=0.1) as client:
            for i in range(60):
                body = {"messaging_product": "whatsapp", "to": f"+7916000{i:04d}",
                        "type": "text", "text": {"body": "hi"}}  # fmt: skip
                try:
                    response = await client.post(f"{url}/v21.0/1/messages", json=body,
                                                 headers={"Authorization": "Bearer t"})  # fmt: skip
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        assert response.headers["Retry-After"] == "1"
                except httpx.ReadTimeout:
                    statuses[0] += 1
    finally:
        await server.stop()
    faults = Counter(r["fault"] for r in fake.requests)
    assert len(fake.requests) == 60
    assert statuses[500] == faults["500"] and statuses[429] == faults["429"]
    assert statuses[0] == faults["hang"] > 0
    accepted = [r for r in fake.requests if r.get("accepted")]
    assert len(accepted) == faults[""] + faults["hang"] == len(fake.sent)
