"""Reply flows (`flows/replies/*.yml`) and shop settings (`flows/shop.yml`): load and validate.

A designer edits the YAML; `nudge validate` reports each problem as `file:line: message`;
`flows/designer.py` reloads a changed set and keeps the old one when the new set is broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.status_labels import check_status_labels
from flows.templates import LANGUAGES, Templates, load_templates, load_yaml_with_lines
from nlu.intents import FINE_INTENTS
from nlu.types import ROUTING_INTENTS, RoutingIntent

# What a reply flow may do; each is a small function in bot/dialogue/actions.py.
Action = Literal[
    "payment_help", "delivery_info", "discount_check", "opt_out", "resume", "decline",
    "clarify", "handoff", "already_paid", "acknowledge", "order_status", "welcome", "rate",
    "introduce", "postpone", "not_for_us",
]  # fmt: skip
ChainEffect = Literal["pause", "stop", "none"]
Stage = Literal["cart", "delivery", "payment"]
WELCOME_PAYLOAD = "help"  # the flow /help starts is the welcome


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """What starts a flow: fine intents (nlu/intents.py; they win over routing intents),
    routing intents, button payloads (or their digits), yes/no."""

    fine_intents: tuple[str, ...] = ()
    intents: tuple[RoutingIntent, ...] = ()
    payloads: tuple[str, ...] = ()
    answers: tuple[Literal["yes", "no"], ...] = ()

    @field_validator("fine_intents")
    @classmethod
    def _known_fine_intents(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in FINE_INTENTS or name == "nlu_fallback"]
        if unknown:
            raise ValueError(f"unknown fine intent(s) {unknown} (see nlu/intents.py)")
        return value


class ReplyFlow(_Strict):
    name: str = ""
    when: When
    do: Action
    reply: str | None = None
    # discount_check: when no promotion applies; payment_help/resume: when there is no link
    reply_otherwise: str | None = None
    chains: ChainEffect = "pause"
    reason: str | None = None  # for do: handoff
    line: int = 0


class HandoffRule(_Strict):
    """Risk of conflict → a person (R-RP4): by payload, the model's fine intent or wording."""

    reason: str
    payloads: tuple[str, ...] = ()
    fine_intents: tuple[str, ...] = ()
    patterns: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # what the shopper is told for this reason, in and after operator hours (else `messages`)
    reply: str | None = None
    reply_after_hours: str | None = None
    line: int = 0

    @field_validator("patterns")
    @classmethod
    def _languages_and_regexes(cls, value: dict[str, tuple[str, ...]]) -> dict[str, Any]:
        for language, patterns in value.items():
            if language not in LANGUAGES:
                raise ValueError(f"patterns: unknown language {language!r}")
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"patterns.{language}: bad regex {pattern!r}: {exc}") from exc
        return value


class Messages(_Strict):
    handoff: str
    handoff_after_hours: str
    card_data: str


Localized = dict[str, str]


class PaymentMethod(_Strict):
    id: str
    title: Localized


class DeliveryOption(_Strict):
    id: str
    title: Localized
    price: Decimal = Decimal(0)
    free_from: Decimal | None = None
    days: str = ""


class Promotion(_Strict):
    """A promotion the shop really runs; the bot offers it only when it matches (R-RP3)."""

    code: str
    title: Localized
    min_total: Decimal = Decimal(0)
    currency: str | None = None
    stages: tuple[Stage, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    free_delivery: bool = False  # the promotion is free delivery (texts may promise it)


class OperatorHours(_Strict):
    timezone: str = "Europe/Moscow"
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon", "tue", "wed", "thu", "fri",
    )  # fmt: skip
    start: time = Field(time(9, 0), alias="from")
    end: time = Field(time(21, 0), alias="to")


class RetailCrmShop(_Strict):
    """retailCRM status codes → the shop statuses the order status flow knows (R-IN3)."""

    statuses: dict[str, str] = Field(default_factory=dict)


class Prices(_Strict):
    """What one message costs the shop, per channel: `default` and per-country (ISO 3166
    alpha-2) overrides, in `currency` (R-MX4: cost per recovered order)."""

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    whatsapp: dict[str, Decimal] = Field(default_factory=dict)
    sms: dict[str, Decimal] = Field(default_factory=dict)
    telegram: dict[str, Decimal] = Field(default_factory=dict)

    def price(self, channel: str, country: str | None) -> Decimal | None:
        table: dict[str, Decimal] = getattr(self, channel, {}) if channel in _CHANNELS else {}
        found = table.get(country or "") if country else None
        return found if found is not None else table.get("default")


_CHANNELS = ("whatsapp", "sms", "telegram")


class Shop(_Strict):
    name: str = ""  # how the bot names the shop to a shopper who asks who is writing
    currency: str = "RUB"
    prices: Prices = Field(default_factory=Prices)
    # The shop's own addresses: the review page ({order_id} filled in) and the payment
    # platform's retry hook (R-FL2; NUDGE_SHOP_RETRY_URL overrides it).
    review_link: str | None = Field(None, pattern=r"^https?://\S+$")
    retry_hook_url: str | None = Field(None, pattern=r"^https?://\S+$")
    payment_methods: tuple[PaymentMethod, ...] = ()
    delivery_options: tuple[DeliveryOption, ...] = ()
    delivery_terms: Localized = Field(default_factory=dict)
    promotions: tuple[Promotion, ...] = ()
    operator_hours: OperatorHours = Field(default_factory=OperatorHours)
    retailcrm: RetailCrmShop = Field(default_factory=RetailCrmShop)


@dataclass
class ReplyBook:
    """Everything the dialogue needs from designer files, loaded together."""

    flows: dict[str, ReplyFlow]
    handoff: tuple[HandoffRule, ...]
    messages: Messages
    shop: Shop
    templates: Templates
    by_payload: dict[str, ReplyFlow] = field(default_factory=dict)
    handoff_by_payload: dict[str, HandoffRule] = field(default_factory=dict)

    def flow_for_fine(self, fine: str) -> ReplyFlow | None:
        return next((f for f in self.flows.values() if fine in f.when.fine_intents), None)

    def flow_for_intent(self, intent: str) -> ReplyFlow | None:
        return next((f for f in self.flows.values() if intent in f.when.intents), None)

    def flow_for_answer(self, answer: str) -> ReplyFlow | None:
        return next((f for f in self.flows.values() if answer in f.when.answers), None)

    def handoff_texts(self, reason: str) -> tuple[str, str]:
        """The templates a hand-off for `reason` tells the shopper, in and after hours."""
        rule = next((r for r in self.handoff if r.reason == reason and r.reply), None)
        if rule is None or rule.reply is None:
            return self.messages.handoff, self.messages.handoff_after_hours
        return rule.reply, rule.reply_after_hours or self.messages.handoff_after_hours


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _errors(path: Path, line: int, where: str, exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"])
        label = f"{where}.{location}" if location else where
        out.append(f"{path}:{line}: {label}: {error['msg']}")
    return out


def _read(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = load_yaml_with_lines(path)
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        problems.append(f"{path}:{line}: cannot read: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}:1: expected a mapping at the top")
        return {}
    return data


def _check_template(
    templates: Templates, name: str | None, path: Path, line: int, problems: list[str]
) -> None:
    if name is None:
        return
    variants = templates.by_name.get(name)
    if variants is None:
        problems.append(f"{path}:{line}: template {name!r} is not in domain.yml responses")
        return
    missing = [lang for lang in LANGUAGES if lang not in variants]
    if missing:
        problems.append(f"{path}:{line}: template {name!r} has no {', '.join(missing)} variant")
    for variant in variants.values():
        if len(variant.buttons) > 3:
            problems.append(f"{templates.source}:{variant.line}: {name}: at most 3 quick replies")
        for button in variant.buttons:
            if not 0 < len(button.title) <= 20:
                problems.append(
                    f"{templates.source}:{variant.line}: {name}: button title "
                    f"{button.title!r} must have 1–20 characters (WhatsApp)"
                )


def load_shop(path: Path, problems: list[str]) -> Shop:
    raw = _read(path, problems) if path.exists() else {}
    try:
        return Shop.model_validate(_strip_lines(raw))
    except ValidationError as exc:
        problems.extend(_errors(path, int(raw.get("__line__", 1)), "shop", exc))
        return Shop()


def _load_flows(
    path: Path, raw: Any, flows: dict[str, ReplyFlow], where: dict[str, Path], problems: list[str]
) -> None:
    if not isinstance(raw, dict):
        problems.append(f"{path}:1: flows must be a mapping of name → flow")
        return
    for name, body in raw.items():
        if name == "__line__":
            continue
        fallback: int = raw["__line__"]
        line: int = body.get("__line__", fallback) if isinstance(body, dict) else fallback
        if name in flows:
            problems.append(f"{path}:{line}: flow {name!r} is also defined in {where[name]}")
            continue
        try:
            flow = ReplyFlow.model_validate({**_strip_lines(body), "name": name, "line": line})
        except ValidationError as exc:
            problems.extend(_errors(path, line, f"flows.{name}", exc))
            continue
        if flow.do == "handoff" and not flow.reason:
            problems.append(f"{path}:{line}: flows.{name}: do: handoff needs a reason")
        if flow.do != "handoff" and flow.reply is None:
            problems.append(f"{path}:{line}: flows.{name}: needs a reply template")
        flows[name] = flow
        where[name] = path


def reply_files(root: Path) -> list[Path]:
    folder = root / "flows" / "replies"
    return sorted(folder.glob("*.yml")) if folder.is_dir() else []


def load_reply_book(root: Path) -> tuple[ReplyBook | None, list[str]]:
    """Read reply flows, shop settings and templates; the book is None when anything is wrong."""
    templates, template_problems = load_templates(root / "domain.yml")
    shop_problems: list[str] = []
    shop = load_shop(root / "flows" / "shop.yml", shop_problems)
    return read_reply_book(root, templates, template_problems, shop, shop_problems)


def read_reply_book(
    root: Path,
    templates: Templates,
    template_problems: list[str],
    shop: Shop,
    shop_problems: list[str],
) -> tuple[ReplyBook | None, list[str]]:
    """The book from templates and shop settings already read (with their problems)."""
    problems = list(template_problems)
    flows: dict[str, ReplyFlow] = {}
    where: dict[str, Path] = {}
    rules: list[HandoffRule] = []
    messages: Messages | None = None
    folder = root / "flows" / "replies"
    files = reply_files(root)
    if not files:
        problems.append(f"{folder}:0: no reply flows (*.yml) found")
    for path in files:
        data = _read(path, problems)
        unknown = set(data) - {"flows", "handoff", "messages", "__line__"}
        for key in sorted(unknown):
            problems.append(f"{path}:1: unknown section {key!r} (flows, handoff, messages)")
        if "flows" in data:
            _load_flows(path, data["flows"], flows, where, problems)
        for raw in data.get("handoff") or []:
            line = raw.get("__line__", 0) if isinstance(raw, dict) else 0
            try:
                rule = HandoffRule.model_validate({**_strip_lines(raw), "line": line})
            except ValidationError as exc:
                problems.extend(_errors(path, line, "handoff", exc))
                continue
            rules.append(rule)
            for name in (rule.reply, rule.reply_after_hours):
                _check_template(templates, name, path, line, problems)
        if "messages" in data:
            line = data["messages"].get("__line__", 1) if isinstance(data["messages"], dict) else 1
            try:
                messages = Messages.model_validate(_strip_lines(data["messages"]))
            except ValidationError as exc:
                problems.extend(_errors(path, line, "messages", exc))
            else:
                for name in (messages.handoff, messages.handoff_after_hours, messages.card_data):
                    _check_template(templates, name, path, line, problems)
    for flow in flows.values():
        path = where[flow.name]
        _check_template(templates, flow.reply, path, flow.line, problems)
        _check_template(templates, flow.reply_otherwise, path, flow.line, problems)
        if flow.do in ("introduce", "not_for_us") and not shop.name:
            problems.append(f"{path}:{flow.line}: flows.{flow.name}: flows/shop.yml needs a name")
    problems.extend(check_status_labels(templates))  # utter_order_status_<status>
    empty = Messages(handoff="", handoff_after_hours="", card_data="")
    problems.extend(shop_problems)
    book = ReplyBook(flows, tuple(rules), messages or empty, shop, templates)
    _index(book, where, problems)
    if messages is None and files:
        problems.append(f"{folder}:0: a `messages:` section (handoff, card_data) is required")
    return (None if problems else book), problems


def _index(book: ReplyBook, where: dict[str, Path], problems: list[str]) -> None:
    """Payload → flow maps, and the checks that need every file read."""
    for flow in book.flows.values():
        for payload in flow.when.payloads:
            other = book.by_payload.get(payload)
            if other is not None:
                problems.append(
                    f"{where[flow.name]}:{flow.line}: payload {payload!r} already starts "
                    f"flow {other.name!r}"
                )
            book.by_payload[payload] = flow
    for rule in book.handoff:
        for payload in rule.payloads:
            book.handoff_by_payload[payload] = rule
    for intent in ROUTING_INTENTS:
        if book.flows and book.flow_for_intent(intent) is None:
            problems.append(f"flows/replies:0: no reply flow answers the {intent!r} intent")


def validate_replies(root: Path) -> list[str]:
    """The `nudge validate` checker for reply flows and shop settings."""
    return load_reply_book(root)[1]
