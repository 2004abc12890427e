"""The `nudge` command: run, train, validate, nlu eval, shell, keys."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from bot.logmask import configure_logging
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.cli_commands import Registrar
    from bot.store.db import SessionFactory

log = logging.getLogger("nudge")


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.modes import describe_mode, startup_problems

    problems = startup_problems(settings)
    if problems:
        for problem in problems:
            print(f"nudge: {problem}", file=sys.stderr)
        return 2
    app = create_app(settings)
    mode = "sandbox" if settings.sandbox else "live"
    db = "PostgreSQL" if settings.is_postgres else "SQLite"
    base = f"http://{args.host}:{args.port}"
    print(
        f"Nudge ({mode} mode, {db}) on {base}\n"
        f"  {describe_mode(settings)}\n"
        f"  health:   {base}/health\n"
        f"  API spec: {base}/api/openapi.json\n"
        + (f"  phone:    {base}/sandbox/phone\n" if settings.sandbox else "")
        + f"  console:  {base}/console\n",
        flush=True,
    )
    from bot.app_keys import SERVICE_URL

    app[SERVICE_URL] = base  # where the sandbox's fake providers post their webhooks
    app.on_startup.append(_freeze_startup_heap)  # after every cleanup context has started
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


async def _freeze_startup_heap(_app: web.Application) -> None:
    """Move what start-up built (~140,000 objects: SQLAlchemy, pydantic, python-telegram-bot,
    flows) out of the collector's reach. A full collection traversed all of them each time,
    80-150 ms with the event loop stopped, so every acknowledgement waiting then missed its
    target; frozen, it traverses only what was made since (~10-15 ms under webhook load)."""
    gc.collect()
    gc.freeze()


def _cmd_keys_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.api.keys import add_key
    from bot.clock import Clock
    from bot.store.migrate import run_on_store

    async def create(sessions: SessionFactory) -> str:
        return await add_key(sessions, args.name, args.shop, Clock().now())

    key = run_on_store(settings.database_url, create)
    print(key)
    print("Store this key now: only its hash is kept.", file=sys.stderr)
    return 0


def _cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.api.keys import list_keys
    from bot.store.migrate import run_on_store

    rows = run_on_store(settings.database_url, list_keys)
    if not rows:
        print("no API keys (create one with: nudge keys add --name NAME)", file=sys.stderr)
        return 0
    print(f"{'NAME':<24} {'SHOP':<16} {'CREATED':<20} REVOKED")
    for row in rows:
        revoked = _stamp(row.revoked_at) if row.revoked_at else "-"
        print(f"{row.name:<24} {row.shop:<16} {_stamp(row.created_at):<20} {revoked}")
    return 0


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _cmd_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from bot.api.keys import revoke_keys
    from bot.clock import Clock
    from bot.store.migrate import run_on_store

    async def revoke(sessions: SessionFactory) -> int:
        return await revoke_keys(sessions, args.name, Clock().now())

    count = run_on_store(settings.database_url, revoke)
    if count == 0:
        print(f"nudge: no active API key named {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {count} key{'s' if count > 1 else ''} named {args.name!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nudge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the service")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.set_defaults(handler=_cmd_run)

    keys = commands.add_parser("keys", help="manage shop API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_add = keys_commands.add_parser("add", help="create a key and print it once")
    keys_add.add_argument("--name", default="shop")
    keys_add.add_argument("--shop", default="default")
    keys_add.set_defaults(handler=_cmd_keys_add)
    keys_list = keys_commands.add_parser("list", help="names, shops and dates (never the keys)")
    keys_list.set_defaults(handler=_cmd_keys_list)
    keys_revoke = keys_commands.add_parser("revoke", help="revoke every active key of a name")
    keys_revoke.add_argument("name")
    keys_revoke.set_defaults(handler=_cmd_keys_revoke)

    for register in _EXTENSIONS:
        register(commands)
    return parser


# Other packages add their sub-commands here (train, validate, nlu, shell, operators).
_EXTENSIONS: list[Registrar] = []


def _load_extensions() -> None:
    from bot import cli_commands, validation  # noqa: F401  (registers its command)
    from bot.dialogue import shell as _shell  # noqa: F401  (nudge shell)
    from bot.integrations import shopify_admin as _shopify  # noqa: F401  (nudge shopify)
    from handoff import cli as _operators_cli  # noqa: F401  (nudge operators)
    from nlu import cli as _nlu_cli  # noqa: F401  (nudge train, nudge nlu eval)

    _EXTENSIONS[:] = cli_commands.REGISTRARS


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"nudge: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    return handler(settings, args)


if __name__ == "__main__":
    raise SystemExit(main())
