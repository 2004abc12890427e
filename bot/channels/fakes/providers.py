"""All three fakes together: started on loopback in sandbox mode and by the tests."""

from __future__ import annotations

from bot.channels.fakes.loopback import LoopbackServer, Poster
from bot.channels.fakes.telegram import FakeTelegram
from bot.channels.fakes.twilio import FakeTwilio
from bot.channels.fakes.whatsapp import FakeWhatsApp
from bot.settings import Settings, sandbox_credentials


class FakeProviders:
    """The fake Graph API, Twilio and Telegram Bot API, and where they post callbacks."""

    def __init__(self, settings: Settings, *, callbacks: bool = True) -> None:
        settings = sandbox_credentials(settings)  # what the channels to the fakes hold too
        self.poster = Poster()
        self.whatsapp = FakeWhatsApp(settings, self.poster, callbacks=callbacks)
        self.twilio = FakeTwilio(settings, self.poster, callbacks=callbacks)
        self.telegram = FakeTelegram(settings, self.poster)
        self.servers = {
            "whatsapp": LoopbackServer(self.whatsapp.app()),
            "sms": LoopbackServer(self.twilio.app()),
            "telegram": LoopbackServer(self.telegram.app()),
        }
        self.urls: dict[str, str] = {}

    @property
    def target(self) -> str | None:
        return self.poster.target

    @target.setter
    def target(self, url: str | None) -> None:
        self.poster.target = url

    async def start(self) -> dict[str, str]:
        await self.poster.start()
        for name, server in self.servers.items():
            self.urls[name] = await server.start()
        return self.urls

    async def stop(self) -> None:
        await self.whatsapp.stop()
        await self.twilio.stop()
        for server in self.servers.values():
            await server.stop()
        await self.poster.stop()
