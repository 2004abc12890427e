"""`nudge operators add|list|disable`: console accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select, update

from bot.cli_commands import REGISTRARS, Commands
from bot.clock import Clock
from bot.settings import Settings
from bot.store.db import SessionFactory
from bot.store.migrate import run_on_store
from bot.store.models import Operator
from handoff.auth import OperatorError, check_new_account, create_operator


def _cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            print("nudge: the passwords differ", file=sys.stderr)
            return 2
    try:
        check_new_account(args.username, password, args.role)
    except OperatorError as exc:
        print(f"nudge: {exc}", file=sys.stderr)
        return 2

    async def create(sessions: SessionFactory) -> int:
        return await create_operator(sessions, args.username, password, args.role, Clock().now())

    try:
        operator_id = run_on_store(settings.database_url, create)
    except OperatorError as exc:
        print(f"nudge: {exc}", file=sys.stderr)
        return 1
    print(f"operator {args.username} ({args.role}) created with id {operator_id}")
    return 0


def _cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    async def rows(sessions: SessionFactory) -> list[Operator]:
        async with sessions() as session:
            return list((await session.scalars(select(Operator).order_by(Operator.id))).all())

    for row in run_on_store(settings.database_url, rows):
        state = "disabled" if row.disabled else "active"
        print(f"{row.id}\t{row.username}\t{row.role}\t{state}")
    return 0


def _cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    async def disable(sessions: SessionFactory) -> int:
        async with sessions.begin() as session:
            result = await session.execute(
                update(Operator).where(Operator.username == args.username).values(disabled=True)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    if not run_on_store(settings.database_url, disable):
        print(f"nudge: no operator named {args.username!r}", file=sys.stderr)
        return 1
    print(f"operator {args.username} disabled")
    return 0


def _register(commands: Commands) -> None:
    parser = commands.add_parser("operators", help="manage operator console accounts")
    sub = parser.add_subparsers(dest="operators_command", required=True)
    add = sub.add_parser("add", help="create an operator or admin account")
    add.add_argument("--username", required=True)
    add.add_argument("--role", choices=["operator", "admin"], default="operator")
    add.add_argument("--password", help="prompted for when absent")
    add.set_defaults(handler=_cmd_add)
    listing = sub.add_parser("list", help="list accounts")
    listing.set_defaults(handler=_cmd_list)
    disable = sub.add_parser("disable", help="disable an account")
    disable.add_argument("--username", required=True)
    disable.set_defaults(handler=_cmd_disable)


REGISTRARS.append(_register)
