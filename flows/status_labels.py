"""Order status labels (R-RP6): what a shopper reads for the shop's status code.

A label is a domain.yml response named `utter_order_status_<status>`, one variant per
language, plain text (no placeholders). The status is matched loosely ("Shipped ",
"handed-to-courier" find `shipped`, `handed_to_courier`); a status without a label (a shop's
own) is shown as it is.
"""

from __future__ import annotations

import re

from flows.templates import LANGUAGES, Templates

LABEL_PREFIX = "utter_order_status_"
_SEPARATORS = re.compile(r"[\s\-]+")


def status_key(status: str) -> str:
    """`Handed-To-Courier ` → `handed_to_courier`."""
    return _SEPARATORS.sub("_", status.strip().lower()).strip("_")


def label_name(status: str) -> str:
    return LABEL_PREFIX + status_key(status)


def status_label(templates: Templates, status: str, language: str, fallback_language: str) -> str:
    """The label in the shopper's language (else the shop's default, else English); a status
    without one, as it is (trimmed)."""
    shown = " ".join(status.split())
    name = label_name(status)
    if not shown or name not in templates.by_name:
        return shown
    variant = templates.get(name, language, fallback_language)
    return " ".join(variant.text.split()) or shown


def check_status_labels(templates: Templates) -> list[str]:
    """`file:line` problems: a label missing a language, empty, or with a placeholder."""
    problems: list[str] = []
    source = templates.source
    for name in sorted(templates.names()):
        if not name.startswith(LABEL_PREFIX):
            continue
        variants = templates.by_name[name]
        missing = [lang for lang in LANGUAGES if lang not in variants]
        if missing:
            first = min(v.line for v in variants.values())
            problems.append(f"{source}:{first}: {name} has no {', '.join(missing)} variant")
        for variant in variants.values():
            if not variant.text.strip():
                problems.append(f"{source}:{variant.line}: {name} ({variant.language}) is empty")
            elif "{" in variant.text or "}" in variant.text:  # a placeholder has braces too
                problems.append(
                    f"{source}:{variant.line}: {name} ({variant.language}): a status label is "
                    "plain text, without a placeholder or braces"
                )
            if variant.buttons:
                problems.append(
                    f"{source}:{variant.line}: {name} ({variant.language}): a status label "
                    "has no buttons"
                )
    return problems
