"""Hot reload of flows and touch templates: a broken set is refused, the old one kept (R-DS1)."""

from __future__ import annotations

import logging
from pathlib import Path

from flows.loader import FlowSet, load_flow_set, watched_files

log = logging.getLogger(__name__)


class FlowHolder:
    """The flow set in use; `check()` reloads it when a watched file changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current = FlowSet()
        self.problems: list[str] = []
        self._stamp: tuple[tuple[str, float], ...] = ()

    def _mtimes(self) -> tuple[tuple[str, float], ...]:
        stamps = []
        for path in watched_files(self.root):
            try:
                stamps.append((str(path), path.stat().st_mtime))
            except OSError:
                stamps.append((str(path), -1.0))
        return tuple(stamps)

    def load(self) -> bool:
        """Read the set now; keep the old one (and log why) when it has problems."""
        self._stamp = self._mtimes()
        flow_set, problems = load_flow_set(self.root)
        self.problems = problems
        if problems:
            for problem in problems:
                log.error("flows not reloaded: %s", problem)
            return False
        self.current = flow_set
        log.info("flows loaded: %s", ", ".join(sorted(flow_set.flows)))
        return True

    def check(self) -> bool:
        """Reload when any watched file changed since the last look; True when reloaded."""
        if self._mtimes() == self._stamp:
            return False
        return self.load()
