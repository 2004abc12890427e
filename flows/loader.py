"""Loading flows/recovery/*.yml, flows/country_rules.yml and the touch templates as one set.

Every problem is reported as `file:line: message`; a set with problems is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from flows.model import Flow
from flows.promises import check_promises
from flows.replies import Shop, load_shop
from flows.replies import _strip_lines as strip_lines  # one copy of it, in flows/replies.py
from flows.rules import CountryRules
from flows.templates import (
    LANGUAGES,
    LinedDict,
    Templates,
    load_templates,
    load_yaml_with_lines,
)

M = TypeVar("M", bound=BaseModel)

# Every proactive message says how to stop (R-SR8), in the template's language.
STOP_HINTS = {"ru": "СТОП", "en": "Reply STOP", "pl": "Odpisz STOP", "zh": "退订"}


@dataclass
class FlowSet:
    """The flows, country rules and templates the service currently runs with."""

    flows: dict[str, Flow] = field(default_factory=dict)
    rules: CountryRules = field(default_factory=CountryRules)
    templates: Templates = field(default_factory=Templates)
    shop: Shop = field(default_factory=Shop)

    def for_checkout(self, stage: str) -> Flow | None:
        return next(
            (
                f
                for f in self.flows.values()
                if f.trigger.event == "checkout.updated" and stage in f.trigger.stages
            ),
            None,
        )

    def for_payment(self, reason: str) -> Flow | None:
        return next(
            (
                f
                for f in self.flows.values()
                if f.trigger.event == "payment.failed" and reason in f.trigger.reasons
            ),
            None,
        )

    def for_order_status(self) -> Flow | None:
        return next(
            (f for f in self.flows.values() if f.trigger.event == "order.status_changed"), None
        )

    def quick_replies(self, flow: str, step: str) -> dict[str, str]:
        """What a touch of `flow` at `step` offered: digit or payload → action."""
        found = self.flows.get(flow)
        offered: dict[str, str] = {}
        for candidate in found.steps if found is not None else ():
            if candidate.step == step:
                offered = {key: str(action) for key, action in candidate.quick_replies.items()}
        return offered


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest key (else mapping) along a pydantic error location."""
    line = data.get("__line__", 1) if isinstance(data, dict) else 1
    node = data
    for part in loc:
        if isinstance(node, LinedDict) and part in node.key_lines:
            line = node.key_lines[part]  # also an unknown key, which has no node below
        index = part if isinstance(node, dict) else (part if isinstance(part, int) else -1)
        if not (isinstance(node, dict) and part in node) and not (
            isinstance(node, list) and isinstance(index, int) and 0 <= index < len(node)
        ):
            break
        node = node[index]  # type: ignore[index]
        if isinstance(node, dict):
            line = node.get("__line__", line)
    return int(line)


def _errors(path: Path, data: Any, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        where = ".".join(str(p) for p in loc) or "file"
        problems.append(f"{path}:{_line_of(data, loc)}: {where}: {error['msg']}")
    return problems


def _load_model(path: Path, model: type[M]) -> tuple[M | None, list[str]]:
    try:
        data = load_yaml_with_lines(path)
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return None, [f"{path}:{line}: cannot read: {exc}".replace("\n", " ")]
    if not isinstance(data, dict):
        return None, [f"{path}:1: the file must be a mapping"]
    try:
        return model.model_validate(strip_lines(data)), []
    except ValidationError as exc:
        return None, _errors(path, data, exc)


def _check_templates(path: Path, flow: Flow, templates: Templates) -> list[str]:
    problems = []
    for step in flow.steps:
        for key in sorted(step.template_keys()):
            variants = templates.by_name.get(key)
            if not variants:
                problems.append(f"{path}:1: step {step.step}: no template {key!r} in domain.yml")
                continue
            for language in LANGUAGES:
                if language not in variants:
                    problems.append(f"{path}:1: template {key} has no {language} text")
            for language, variant in variants.items():
                if STOP_HINTS[language] not in variant.text:
                    where = f"{templates.source}:{variant.line}"
                    problems.append(
                        f"{where}: {key} ({language}) must say how to stop: "
                        f"{STOP_HINTS[language]!r} (R-SR8)"
                    )
    return problems


def flow_files(root: Path) -> list[Path]:
    return sorted((root / "flows" / "recovery").glob("*.yml"))


def load_flow_set(root: Path) -> tuple[FlowSet, list[str]]:
    """Read the whole set; return it with every problem found (use it only when none)."""
    templates, template_problems = load_templates(root / "domain.yml")
    shop_problems: list[str] = []  # reported by the reply-flow checker
    shop = load_shop(root / "flows" / "shop.yml", shop_problems)
    return read_flow_set(root, templates, template_problems, shop, promises=not shop_problems)


def read_flow_set(
    root: Path, templates: Templates, template_problems: list[str], shop: Shop, *, promises: bool
) -> tuple[FlowSet, list[str]]:
    """The set from templates and shop settings already read; `promises` checks the texts
    against the shop (only a valid shop file can say what it declares)."""
    problems = list(template_problems)
    flow_set = FlowSet(templates=templates, shop=shop)
    rules_path = root / "flows" / "country_rules.yml"
    if rules_path.exists():
        rules, found = _load_model(rules_path, CountryRules)
        problems.extend(found)
        if rules is not None:
            flow_set.rules = rules
    paths = flow_files(root)
    if not paths:
        problems.append(f"{root / 'flows' / 'recovery'}:0: no flow files (*.yml)")
    seen_reasons: dict[str, str] = {}
    for path in paths:
        flow, found = _load_model(path, Flow)
        problems.extend(found)
        if flow is None:
            continue
        if flow.flow in flow_set.flows:
            problems.append(f"{path}:1: flow name {flow.flow!r} is used twice")
        for reason in flow.trigger.reasons:
            if reason in seen_reasons:
                problems.append(
                    f"{path}:1: reason {reason} is already handled by {seen_reasons[reason]}"
                )
            seen_reasons[reason] = flow.flow
        problems.extend(_check_templates(path, flow, templates))
        flow_set.flows[flow.flow] = flow
    if promises:
        problems.extend(check_promises(root / "domain.yml", templates, shop))
    return flow_set, problems


def validate_flows(root: Path) -> list[str]:
    """`nudge validate` checker for flows/recovery, country rules and touch templates."""
    return load_flow_set(root)[1]
