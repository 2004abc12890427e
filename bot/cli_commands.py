"""Registry of sub-commands that live in other packages (each registers its own parser)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Protocol


class Commands(Protocol):
    """Where a package adds its sub-command: what `ArgumentParser.add_subparsers()` returns."""

    def add_parser(self, name: str, *, help: str | None = ...) -> argparse.ArgumentParser: ...


Registrar = Callable[[Commands], None]

REGISTRARS: list[Registrar] = []
