"""`nudge shell`: chat with the bot as a shopper in the terminal (R-DS2).

In-process by default (a sandbox service on a free loopback port, your database), or against
a running sandbox with `--url`. The service's log goes to a file (`--log`, default
var/shell.log), not between the messages. Commands: `/clock +6h` moves the sandbox clock and
shows the touches that fired, `/button PAYLOAD` taps a button, `/state`, `/paid`, `/help`, `/quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import socket
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.cli_commands import REGISTRARS, Commands
from bot.logmask import configure_logging
from bot.settings import Settings

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HELP = """Type as the shopper. Commands:
  /clock +6h        advance the sandbox clock (s, m, h, d) and show touches that fired
  /button PAYLOAD   tap a quick-reply button (e.g. /button payment_help)
  /state            the conversation's state (bot / waiting_operator / operator / closed)
  /paid             the shop reports the order paid
  /help, /quit"""


def parse_advance(text: str) -> int:
    """`+6h`, `30m`, `+90s`, `1d` → seconds; a clear error otherwise."""
    match = re.fullmatch(r"\s*\+?(\d+)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"{text!r}: use e.g. +30m, +6h or +1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class Shell:
    def __init__(self, http: httpx.AsyncClient, args: argparse.Namespace, api_key: str) -> None:
        self.http = http
        self.args = args
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.seen: set[str] = set()

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {"id": f"shell-{uuid.uuid4().hex}", "type": kind, "occurred_at": now, **fields}

    async def start(self) -> None:
        a = self.args
        contact = {"id": a.contact_id, "name": a.name, "language": a.language}
        contact["telegram_chat_id" if a.channel == "telegram" else "phone"] = a.address
        events = [
            self._event("consent.granted", contact=contact, channel=a.channel, source="shell"),
            self._event(
                "checkout.updated",
                contact={"id": a.contact_id},
                checkout={
                    "id": f"{a.contact_id}-cart",
                    "stage": a.stage,
                    "items": [{"name": a.item, "quantity": 1, "price": a.total}],
                    "total": a.total,
                    "currency": a.currency,
                    "resume_url": f"https://shop.example/checkout/{a.contact_id}",
                },
            ),
        ]
        response = await self.http.post(
            "/api/v1/events", json={"events": events}, headers=self.auth
        )
        if response.status_code not in (200, 202):
            raise SystemExit(
                f"nudge shell: events API said {response.status_code}: {response.text}"
            )
        await self.show_outbox()

    def print_items(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["id"] in self.seen:
                continue
            self.seen.add(item["id"])
            touch = item.get("touch")
            label = f"bot ({touch['flow']}/{touch['step']})" if touch else "bot"
            print(f"{label}> {item['text']}")
            for index, title in enumerate(item.get("buttons") or [], start=1):
                print(f"    [{index}] {title}")

    async def show_outbox(self) -> None:
        response = await self.http.get(
            "/sandbox/outbox", params={"contact_id": self.args.contact_id}
        )
        if response.status_code == 200:
            self.print_items(response.json())

    async def say(self, text: str | None = None, button: str | None = None) -> None:
        body: dict[str, Any] = {"channel": self.args.channel, "from": self.args.address}
        body.update({"button": button} if button is not None else {"text": text})
        response = await self.http.post("/sandbox/inbound", json=body)
        if response.status_code != 200:
            print(f"!! {response.status_code}: {response.text}")
            return
        result = response.json()
        print(f"   (intent: {result['intent']}, handled by: {result['handled_by']})")
        self.print_items(result["replies"])
        if result["handled_by"] == "operator" and not result["replies"]:
            print("   (an operator owns this chat: the bot stays silent — answer from /console)")

    async def command(self, line: str) -> bool:
        name, _, rest = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            print(HELP)
        elif name == "/clock":
            try:
                seconds = parse_advance(rest)
            except ValueError as exc:
                print(f"!! {exc}")
                return True
            response = await self.http.post("/sandbox/clock", json={"advance_seconds": seconds})
            print(f"   (clock: {response.json().get('now', response.text)})")
            await self.show_outbox()
        elif name == "/button":
            await self.say(button=rest.strip())
        elif name == "/state":
            response = await self.http.get(f"/sandbox/conversations/{self.args.contact_id}")
            print(f"   {response.json()}")
        elif name == "/paid":
            event = self._event(
                "order.paid",
                contact={"id": self.args.contact_id},
                checkout={"id": f"{self.args.contact_id}-cart"},
                order={"id": f"o-{uuid.uuid4().hex[:8]}"},
            )
            await self.http.post("/api/v1/events", json=event, headers=self.auth)
            print("   (order paid)")
        else:
            print(f"!! unknown command {name}; /help lists them")
        return True

    async def loop(self) -> None:
        print(HELP)
        await self.start()
        while True:
            try:
                line = await asyncio.get_running_loop().run_in_executor(None, input, "you> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not await self.command(line):
                    return
            else:
                await self.say(text=line)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.url:
        api_key = args.api_key or settings.api_key
        if not api_key:
            print("nudge shell: --api-key or NUDGE_API_KEY is needed with --url", file=sys.stderr)
            return 2
        async with httpx.AsyncClient(base_url=args.url.rstrip("/"), timeout=30) as http:
            await Shell(http, args, api_key).loop()
        return 0
    from bot.app import create_app
    from bot.app_keys import SERVICE_URL
    from bot.modes import startup_problems

    api_key = settings.api_key or secrets.token_urlsafe(24)
    local = replace(settings, sandbox=True, api_key=api_key)
    problems = startup_problems(local)  # the in-process sandbox never talks to real providers
    if problems:
        for problem in problems:
            print(f"nudge shell: {problem}", file=sys.stderr)
        return 2
    app = create_app(local, run_nlu=not args.no_nlu)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app[SERVICE_URL] = base
    runner = web.AppRunner(app, access_log=None)
    print("starting the sandbox service" + ("" if args.no_nlu else " and the NLU (~15 s)") + "…")
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await Shell(http, args, api_key).loop()
    finally:
        await runner.cleanup()
    return 0


def _cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    if args.channel == "telegram" and not args.address.lstrip("-").isdigit():
        args.address = "100200300"
    # The terminal shows the conversation only; the service's log lines go to a file.
    log_path: Path = args.log or settings.var_dir / "shell.log"
    configure_logging(settings.log_level, file=log_path)
    print(f"nudge shell: the service's log goes to {log_path}")
    return asyncio.run(_run(settings, args))


def _register(commands: Commands) -> None:
    parser = commands.add_parser("shell", help="chat with the bot as a shopper in the terminal")
    parser.add_argument("--url", help="a running sandbox service (default: start one in-process)")
    parser.add_argument("--api-key", help="shop API key for --url (default NUDGE_API_KEY)")
    parser.add_argument("--log", type=Path, help="the service's log file (default var/shell.log)")
    parser.add_argument("--no-nlu", action="store_true", help="rules only; free text → operator")
    parser.add_argument("--channel", choices=["whatsapp", "sms", "telegram"], default="whatsapp")
    parser.add_argument("--address", default="+79990001122", help="phone (or Telegram chat id)")
    parser.add_argument("--contact-id", default=f"shell-{uuid.uuid4().hex[:6]}")
    parser.add_argument("--name", default="Anna")
    parser.add_argument("--language", choices=["ru", "en", "pl", "zh"], default="ru")
    parser.add_argument("--stage", choices=["cart", "delivery", "payment"], default="payment")
    parser.add_argument("--item", default="Кроссовки Run 2")
    parser.add_argument("--total", default="6860.00")
    parser.add_argument("--currency", default="RUB")
    parser.set_defaults(handler=_cmd_shell)


REGISTRARS.append(_register)
