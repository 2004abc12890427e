"""`nudge validate`: every designer file checked, every problem printed as `file:line: message`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bot.cli_commands import REGISTRARS, Commands
from bot.settings import Settings
from flows.templates import load_templates

Validator = Callable[[Path], list[str]]


def validate_domain_templates(root: Path) -> list[str]:
    return load_templates(root / "domain.yml")[1]


# Each part of the bot adds its checker here (flows, NLU data, reply flows, config).
VALIDATORS: list[Validator] = [validate_domain_templates]

from flows.loader import validate_flows  # noqa: E402 (after the list it extends)

VALIDATORS.append(validate_flows)

from flows.replies import validate_replies  # noqa: E402  (reply flows, shop settings)

VALIDATORS.append(validate_replies)

from nlu.validate import validate_nlu  # noqa: E402  (NLU data, held-out files, config.yml)

VALIDATORS.append(validate_nlu)


def validate_all(root: Path) -> list[str]:
    problems: list[str] = []
    for validator in VALIDATORS:
        problems.extend(validator(root))
    return problems


def _cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    problems = validate_all(settings.root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("flows, NLU data, domain.yml and config.yml are valid")
    return 0


def _register(commands: Commands) -> None:
    parser = commands.add_parser("validate", help="check flows/, nlu/, domain.yml, config.yml")
    parser.set_defaults(handler=_cmd_validate)


REGISTRARS.append(_register)
