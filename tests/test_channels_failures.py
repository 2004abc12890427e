"""Every row of each provider's failure table (bot/channels/*: FAILURES), provoked for real
against the fake providers on loopback: a failure the provider surely did not process is
retried, one that may have been delivered is `unknown` after a single request (R-CH2, R-SR9)."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from telegram.request import HTTPXRequest

from bot.channels import telegram as telegram_module
from bot.channels import twilio_sms, whatsapp
from bot.channels.base import ChannelClient, OutboundMessage, SendResult
from bot.channels.failures import FailureTable, Fate
from bot.channels.fakes.providers import FakeProviders
from bot.channels.fakes.twilio import twilio_error
from bot.channels.fakes.whatsapp import Scripted, graph_error
from bot.channels.pacing import Pacer
from bot.channels.setup import _clients
from bot.settings import load_settings
from tests.channels_fixtures import wait_for

WA_TO, SMS_TO, CHAT = "79161234567", "+12025550123", "4242"
TIMEOUT = 0.5  # the clients' read timeout here; a scripted delay of 1 s outlasts it


class CountingPacer(Pacer):
    """No pacing; counts the attempts the client makes (the retry loop calls it first)."""

    def __init__(self) -> None:
        super().__init__(10_000, 10_000, 10_000)
        self.attempts = 0

    async def wait(self, recipient: str) -> None:
        self.attempts += 1


@dataclass
class Rig:
    fakes: FakeProviders
    clients: dict[str, Any]
    dead_url: str  # a loopback port nobody listens on: connection refused
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    settings = replace(load_settings(), send_timeout_seconds=1)
    fakes = FakeProviders(settings, callbacks=False)
    urls = await fakes.start()
    http = httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT, connect=TIMEOUT))
    clients: dict[str, Any] = dict(_clients(settings, http, urls))
    telegram = clients["telegram"]
    request = HTTPXRequest(connection_pool_size=4, read_timeout=TIMEOUT, write_timeout=TIMEOUT)
    telegram.bot = telegram_module.Bot(
        telegram.bot.token, base_url=f"{urls['telegram']}/bot", request=request
    )
    for client in clients.values():
        client.pacer = CountingPacer()
        client.backoff = 0.01
    try:
        rig = Rig(fakes, clients, _dead_url())
        yield rig
    finally:
        await asyncio.gather(*rig.tasks, return_exceptions=True)
        for client in clients.values():
            if hasattr(client, "close"):
                await client.close()
        await http.aclose()
        await fakes.stop()


def _refused(rig: Rig, channel: str) -> None:
    client = rig.clients[channel]
    if channel == "telegram":
        client.bot = telegram_module.Bot(client.bot.token, base_url=f"{rig.dead_url}/bot")
        client._initialized = False
    else:
        client.url = str(httpx.URL(client.url).copy_with(port=httpx.URL(rig.dead_url).port))


def _script(rig: Rig, channel: str, *answers: Scripted) -> None:
    fake = {"whatsapp": rig.fakes.whatsapp, "sms": rig.fakes.twilio, "telegram": rig.fakes.telegram}
    to = {"whatsapp": WA_TO, "sms": SMS_TO, "telegram": CHAT}[channel]
    fake[channel].script[to] = list(answers)


def _tg_error(status: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": description, **extra}


HANG = Scripted(200, {}, delay=1.0)
DROP = Scripted(200, {}, drop=True)
Provoke = Callable[[Rig], Any]  # may return an awaitable to wait for

WHATSAPP: dict[str, Provoke] = {
    "no connection": lambda rig: _refused(rig, "whatsapp"),
    "read timeout": lambda rig: _script(rig, "whatsapp", HANG),
    "connection dropped": lambda rig: _script(rig, "whatsapp", DROP),
    "http 429": lambda rig: _script(rig, "whatsapp", Scripted(429, {})),
    "http 502": lambda rig: _script(rig, "whatsapp", Scripted(502, {})),
    "http 504": lambda rig: _script(rig, "whatsapp", Scripted(504, {})),
    "http 5xx": lambda rig: _script(rig, "whatsapp", Scripted(500, {})),
}
for _code in (4, 80007, 130429, 131048, 131056, 2, 131000, 131016, 133004):
    WHATSAPP[f"code {_code}"] = lambda rig, c=_code: _script(
        rig,
        "whatsapp",
        Scripted(400 if c not in (2, 131000, 131016, 133004) else 503, graph_error(c, "x")),
    )

TWILIO: dict[str, Provoke] = {
    "no connection": lambda rig: _refused(rig, "sms"),
    "read timeout": lambda rig: _script(rig, "sms", HANG),
    "connection dropped": lambda rig: _script(rig, "sms", DROP),
    "http 429": lambda rig: _script(rig, "sms", Scripted(429, {})),
    "code 20429": lambda rig: _script(rig, "sms", Scripted(429, twilio_error(20429, "x", 429))),
    "code 20503": lambda rig: _script(rig, "sms", Scripted(503, twilio_error(20503, "x", 503))),
    "code 20500": lambda rig: _script(rig, "sms", Scripted(500, twilio_error(20500, "x", 500))),
    "http 502": lambda rig: _script(rig, "sms", Scripted(502, {})),
    "http 504": lambda rig: _script(rig, "sms", Scripted(504, {})),
    "http 5xx": lambda rig: _script(rig, "sms", Scripted(503, {})),
}


async def _pool_taken(rig: Rig) -> None:
    """Telegram's one pooled connection is busy with a send that hangs: the next send gets no
    connection (httpx PoolTimeout, python-telegram-bot TimedOut) and is retried."""
    client = rig.clients["telegram"]
    request = HTTPXRequest(
        connection_pool_size=1, pool_timeout=0.1, read_timeout=TIMEOUT, write_timeout=TIMEOUT
    )
    base = f"{rig.fakes.urls['telegram']}/bot"
    client.bot = telegram_module.Bot(client.bot.token, base_url=base, request=request)
    client._initialized = False
    client.backoff = 0.3
    other = telegram_module.TelegramChannel(client.bot, pacer=Pacer(10_000, 10_000, 10_000))
    rig.fakes.telegram.script["4243"] = [HANG]
    rig.tasks.append(
        asyncio.get_running_loop().create_task(other.send("4243", OutboundMessage("x")))
    )

    async def holding() -> bool:
        return rig.fakes.telegram.attempts["4243"] == 1

    await wait_for(holding, "the hanging request holds Telegram's one connection")


TELEGRAM: dict[str, Provoke] = {
    "TimedOut: no connection": _pool_taken,
    "RetryAfter": lambda rig: _script(
        rig,
        "telegram",
        Scripted(
            429, _tg_error(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
        ),
    ),
    "NetworkError: no connection": lambda rig: _refused(rig, "telegram"),
    "TimedOut": lambda rig: _script(rig, "telegram", HANG),
    "NetworkError": lambda rig: _script(rig, "telegram", DROP),
}

TABLES: dict[str, tuple[FailureTable, dict[str, Provoke]]] = {
    "whatsapp": (whatsapp.FAILURES, WHATSAPP),
    "sms": (twilio_sms.FAILURES, TWILIO),
    "telegram": (telegram_module.FAILURES, TELEGRAM),
}
CASES = [(channel, key) for channel, (table, _) in TABLES.items() for key in table]


def _target(channel: str) -> str:
    return {"whatsapp": "+" + WA_TO, "sms": SMS_TO, "telegram": CHAT}[channel]


def _requests(rig: Rig, channel: str) -> int:
    fake = {"whatsapp": rig.fakes.whatsapp, "sms": rig.fakes.twilio, "telegram": rig.fakes.telegram}
    return fake[channel].attempts[{"whatsapp": WA_TO, "sms": SMS_TO, "telegram": CHAT}[channel]]


@pytest.mark.parametrize(("channel", "key"), CASES, ids=[f"{c}-{k}" for c, k in CASES])
async def test_each_row_of_each_failure_table(rig: Rig, channel: str, key: str) -> None:
    table, provoke = TABLES[channel]
    assert key in provoke, f"no test provokes {channel} {key!r}"
    provoked = provoke[key](rig)
    if inspect.isawaitable(provoked):
        await provoked
    client: ChannelClient = rig.clients[channel]
    result: SendResult = await client.send(_target(channel), OutboundMessage("Hi"))
    pacer: CountingPacer = rig.clients[channel].pacer
    assert result.failure == key or result.outcome == "sent", result
    if table[key].fate is Fate.MAYBE_SENT:
        assert result.outcome == "unknown", result
        assert pacer.attempts == 1  # never sent again
    elif key == "TimedOut: no connection":
        assert result.outcome in ("sent", "failed"), result  # sent once the pool was free
        assert pacer.attempts >= 2 and _requests(rig, channel) <= 1
    elif key.endswith("no connection"):
        assert result.outcome == "failed" and result.retryable, result
        assert pacer.attempts == 4 and _requests(rig, channel) == 0  # all retried, none arrived
    else:
        assert result.outcome == "sent", result  # the scripted failure, then a retry that went
        assert pacer.attempts == 2 and _requests(rig, channel) == 2
