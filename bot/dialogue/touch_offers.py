"""The quick replies a touch offered (digit/payload → action), from the recovery flow files."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


class TouchOffers:
    """`offers(flow, step)` from flows/recovery/*.yml, re-read when those files change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stamp: tuple[tuple[str, float], ...] | None = None
        self._offers: dict[tuple[str, str], dict[str, str]] = {}

    def _reload(self) -> None:
        try:
            from flows.loader import load_flow_set, watched_files
        except ImportError:  # the touches part is not installed
            return
        stamp = tuple((str(p), p.stat().st_mtime) for p in watched_files(self.root) if p.exists())
        if stamp == self._stamp:
            return
        self._stamp = stamp
        flow_set, problems = load_flow_set(self.root)
        if problems:
            log.warning("recovery flows have problems; quick replies may be incomplete")
        offers: dict[tuple[str, str], dict[str, str]] = {}
        for name, flow in flow_set.flows.items():
            for step in flow.steps:
                offers[(name, step.step)] = {k: str(v) for k, v in step.quick_replies.items()}
        self._offers = offers

    def __call__(self, flow: str, step: str) -> dict[str, str]:
        try:
            self._reload()
        except Exception:  # a broken flow file must not stop replies
            log.exception("cannot read recovery flows for quick replies")
        return dict(self._offers.get((flow, step), {}))
