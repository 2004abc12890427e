"""Template rendering: placeholders filled, missing ones empty, braces never leaked; the
parsed-once fast path gives exactly what Python's formatter gives."""

from __future__ import annotations

import string

import pytest

from flows.templates import render

VALUES: dict[str, object] = {"first_name": "Анна", "item": "Кроссовки", "total": 6860, "link": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{first_name}, {item} ждут: {link} СТОП", "Анна, Кроссовки ждут: СТОП"),
        ("{{literal}} {first_name}", "{literal} Анна"),
        ("{unknown} {first_name}", "Анна"),
        ("total {total:0>6}", "total 006860"),  # a format spec takes the formatter's path
        ("{first_name!r}", "'Анна'"),
        ("line one {item}\n  line two  ", "line one Кроссовки\n  line two"),
        ("no placeholders at all", "no placeholders at all"),
    ],
)
def test_render_fills_placeholders(text: str, expected: str) -> None:
    assert render(text, VALUES) == expected


def test_render_matches_the_formatter_for_plain_names() -> None:
    text = "{first_name}, {item} — {total} {link}{{x}} end"
    safe = {k: "" if v is None else str(v) for k, v in VALUES.items()}
    by_formatter = string.Formatter().vformat(text, (), safe)
    assert render(text, VALUES) == " ".join(by_formatter.split())


def test_render_refuses_a_lone_brace() -> None:
    with pytest.raises(ValueError):
        render("broken } brace", VALUES)
