"""Message templates: `responses` in domain.yml, one variant per language (R-PZ3).

Format (valid Rasa domain):

    responses:
      utter_abandoned_1:
        - text: "{first_name}, заказ не завершён — продолжить? {link} Ответьте СТОП"
          metadata: {language: ru, whatsapp_template: abandoned_1}
          buttons:
            - {title: "Продолжить", payload: "resume"}

Placeholders: {first_name}, {item}, {total}, {link}, plus any a flow passes in.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("ru", "en", "pl", "zh")


@dataclass(frozen=True)
class TemplateButton:
    """A quick reply: `payload` comes back when tapped; `title` is what the shopper sees."""

    payload: str
    title: str


@dataclass(frozen=True)
class TemplateVariant:
    language: str
    text: str
    buttons: tuple[TemplateButton, ...] = ()
    whatsapp_template: str | None = None
    line: int = 0


@dataclass
class Templates:
    """All responses by name and language."""

    by_name: dict[str, dict[str, TemplateVariant]] = field(default_factory=dict)
    source: Path | None = None

    def names(self) -> set[str]:
        return set(self.by_name)

    def get(self, name: str, language: str, fallback_language: str) -> TemplateVariant:
        """The variant in the shopper's language, else the shop's default, else any."""
        variants = self.by_name.get(name)
        if not variants:
            raise KeyError(f"no template named {name!r}")
        for lang in (language, fallback_language, "en"):
            if lang in variants:
                return variants[lang]
        return next(iter(variants.values()))


class _SafeValues(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@functools.lru_cache(maxsize=1024)
def _pieces(text: str) -> tuple[tuple[str, str | None], ...] | None:
    """A template as (literal text, placeholder name) pairs, parsed once; None when it uses
    more than plain names (a format spec, a conversion, an attribute)."""
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None and (spec or conversion or not name.isidentifier()):
            return None
        pieces.append((literal, name))
    return tuple(pieces)


def render(text: str, values: Mapping[str, object]) -> str:
    """Fill placeholders; a missing value renders empty, never raises, never leaks braces."""
    safe = _SafeValues({k: "" if v is None else str(v) for k, v in values.items()})
    pieces = _pieces(text)
    if pieces is None:
        rendered = string.Formatter().vformat(text, (), safe)
    else:  # the common case, without the formatter's per-call parsing
        rendered = "".join(
            literal + (safe[name] if name is not None else "") for literal, name in pieces
        )
    return " ".join(rendered.split()) if "\n" not in text else rendered.strip()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records the line of every mapping (for `file:line` messages)."""


class LinedDict(dict[Any, Any]):
    """A YAML mapping that also knows the line of each of its keys."""

    key_lines: dict[Any, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = LinedDict(loader.construct_mapping(node, deep=True))
    mapping.key_lines = {}
    for key_node, _ in node.value:
        mapping.key_lines.setdefault(key_node.value, key_node.start_mark.line + 1)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_with_lines(path: Path) -> Any:
    """Parse YAML; every dict carries `__line__` (1-based) of where it starts."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LineLoader)


def load_templates(domain_path: Path) -> tuple[Templates, list[str]]:
    """Read responses; return the templates and every problem as `file:line: message`."""
    problems: list[str] = []
    templates = Templates(source=domain_path)
    try:
        data = load_yaml_with_lines(domain_path)
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return templates, [f"{domain_path}:{line}: cannot read: {exc}"]
    responses = (data or {}).get("responses") or {}
    for name, variants in responses.items():
        if name == "__line__":
            continue
        if not isinstance(variants, list):
            problems.append(f"{domain_path}:{responses['__line__']}: {name} must be a list")
            continue
        for raw in variants:
            line = raw.get("__line__", 0) if isinstance(raw, dict) else 0
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                problems.append(f"{domain_path}:{line}: {name}: each variant needs a text")
                continue
            meta = raw.get("metadata") or {}
            language = meta.get("language") if isinstance(meta, dict) else None
            if language not in LANGUAGES:
                problems.append(
                    f"{domain_path}:{line}: {name}: metadata.language must be one of "
                    f"{', '.join(LANGUAGES)}"
                )
                continue
            buttons = tuple(
                TemplateButton(str(b.get("payload", "")), str(b.get("title", "")))
                for b in raw.get("buttons") or []
                if isinstance(b, dict)
            )
            per_language = templates.by_name.setdefault(name, {})
            if language in per_language:
                problems.append(f"{domain_path}:{line}: {name}: two variants for {language}")
            per_language[language] = TemplateVariant(
                language=language,
                text=raw["text"],
                buttons=buttons,
                whatsapp_template=meta.get("whatsapp_template"),
                line=line,
            )
    return templates, problems
