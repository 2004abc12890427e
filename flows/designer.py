"""The designer files the service runs with, held in one place (R-DS1).

Recovery flows, country rules, reply flows, shop settings and templates are re-read together,
once, when any of them changes. Each part whose files are broken keeps its last good version
and its problems are logged; the firing side and the dialogue read the same holder.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flows.loader import FlowSet, flow_files, read_flow_set
from flows.replies import ReplyBook, Shop, load_shop, read_reply_book, reply_files
from flows.templates import Templates, load_templates

log = logging.getLogger(__name__)

Stamp = tuple[tuple[str, float], ...]


def designer_files(root: Path) -> list[Path]:
    """Every file a designer edits that the running service reads."""
    return [
        *flow_files(root),
        root / "flows" / "country_rules.yml",
        *reply_files(root),
        root / "flows" / "shop.yml",
        root / "domain.yml",
    ]


def _stamp(paths: list[Path]) -> Stamp:
    stamps = []
    for path in paths:
        try:
            stamps.append((str(path), path.stat().st_mtime))
        except OSError:  # a missing file is a change too
            stamps.append((str(path), -1.0))
    return tuple(stamps)


class DesignerFiles:
    """`current` is the flow set touches are planned and fired with; `reply_book()` is what
    the dialogue answers with; `shop()` and `templates()` serve the other readers. `check()`
    re-reads every file when one of them changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current = FlowSet()
        self.problems: list[str] = []
        self._reply_book: ReplyBook | None = None
        self._reply_problems: list[str] = []
        self._shop = Shop()  # the last valid shop settings
        self._templates: Templates | None = None  # the last valid texts (or the first read)
        self._stamp: Stamp = ()
        self._lock = threading.Lock()  # the scheduler's thread and the dialogue both check

    def load(self) -> bool:
        """Read every file now; True when every part was taken without problems."""
        with self._lock:
            return self._load()

    def check(self) -> bool:
        """Reload when any file changed since the last look; True when reloaded cleanly."""
        with self._lock:
            if _stamp(designer_files(self.root)) == self._stamp:
                return False
            return self._load()

    def reply_book(self) -> ReplyBook:
        """The reply book in use, after a look for changed files."""
        self.check()
        if self._reply_book is None:
            raise RuntimeError("reply flows are broken: " + "; ".join(self._reply_problems[:5]))
        return self._reply_book

    def shop(self) -> Shop:
        """The last valid shop settings, after a look for changed files."""
        self.check()
        return self._shop

    def templates(self) -> Templates:
        """The last valid texts of domain.yml, after a look for changed files."""
        self.check()
        assert self._templates is not None  # taken by the first read
        return self._templates

    def quick_replies(self, flow: str, step: str) -> dict[str, str]:
        """What a touch of `flow` at `step` offered: digit or payload → action."""
        return self.current.quick_replies(flow, step)

    def _load(self) -> bool:
        self._stamp = _stamp(designer_files(self.root))
        templates, template_problems = load_templates(self.root / "domain.yml")
        if not template_problems or self._templates is None:
            self._templates = templates
        shop_problems: list[str] = []
        shop = load_shop(self.root / "flows" / "shop.yml", shop_problems)
        if not shop_problems:
            self._shop = shop
        flow_set, flow_problems = read_flow_set(
            self.root, templates, template_problems, self._shop, promises=not shop_problems
        )
        book, reply_problems = read_reply_book(
            self.root, templates, template_problems, shop, shop_problems
        )
        self.problems = list(dict.fromkeys([*flow_problems, *reply_problems]))
        self._take_flow_set(flow_set, flow_problems)
        self._take_reply_book(book, reply_problems)
        return not self.problems

    def _take_flow_set(self, flow_set: FlowSet, problems: list[str]) -> None:
        if problems:
            for problem in problems:
                log.error("flows not reloaded: %s", problem)
            return
        self.current = flow_set
        log.info("flows loaded: %s", ", ".join(sorted(flow_set.flows)))

    def _take_reply_book(self, book: ReplyBook | None, problems: list[str]) -> None:
        self._reply_problems = problems
        if book is not None:
            self._reply_book = book
        elif self._reply_book is None:
            log.error("reply flows are broken: %s", problems)
        else:
            log.error("reply flows changed but are broken; keeping the old set: %s", problems)
