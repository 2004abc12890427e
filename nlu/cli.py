"""Registers the NLU sub-commands: `nudge train` and `nudge nlu eval`."""

from __future__ import annotations

from nlu import evaluate as _evaluate  # noqa: F401  (registers `nudge nlu eval`)
from nlu import train as _train  # noqa: F401  (registers `nudge train`)
