"""R-RP5: card numbers and CVV-like codes never reach storage or the model."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.redact import CARD_MASK, CVV_MASK, luhn_valid, redact, without_masks


def _with_check_digit(body: str) -> str:
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    number = _with_check_digit(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    group = draw(st.sampled_from([4, 3, 5, length]))
    return separator.join(number[i : i + group] for i in range(0, len(number), group))


@given(card_numbers(), st.sampled_from(["my card is ", "карта ", "numer karty: ", "卡号", ""]))
@settings(max_examples=200, deadline=None)
def test_luhn_valid_card_numbers_are_removed(number: str, prefix: str) -> None:
    result = redact(f"{prefix}{number} thanks")
    assert CARD_MASK in result.text
    assert number not in result.text
    assert result.card_data_removed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cvv 123", f"cvv {CVV_MASK}"),
        ("CVC: 9876", f"CVC: {CVV_MASK}"),
        ("код 321", f"код {CVV_MASK}"),
        ("код безопасности - 555", f"код безопасности - {CVV_MASK}"),
        ("kod cvv 404", f"kod cvv {CVV_MASK}"),
        ("安全码 777", f"安全码 {CVV_MASK}"),
        ("123 cvv", f"{CVV_MASK} cvv"),
        (
            "4111 1111 1111 1111 cvv 123 exp 12/29",
            f"{CARD_MASK} cvv {CVV_MASK} exp 12/29",
        ),
    ],
)
def test_cvv_codes_are_removed(text: str, expected: str) -> None:
    result = redact(text)
    assert result.text == expected
    assert result.card_data_removed


@pytest.mark.parametrize(
    "text",
    [
        "order 123456 is late",
        "4111 1111 1111 1112",  # fails the Luhn check
        "call me +7 916 123 45 67",
        "промокод 1234 не работает",
        "I ordered 3 items for 250 dollars",
        "tracking 1Z999AA10123456784",
        "",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert not result.card_data_removed


def test_long_runs_of_spaces_cost_linear_time() -> None:
    """Redaction runs on every webhook body: a crafted one must not stall the event loop."""
    started = time.perf_counter()
    for text in ("cvv" + " " * 30_000, "123" + " " * 30_000 + "cvv"):
        assert redact(text).text == text
    assert time.perf_counter() - started < 2.0  # quadratic gaps took ~20 s here


def test_the_model_reads_the_redacted_text_without_masks() -> None:
    redacted = redact("卡号 4111 1111 1111 1111 cvv 123 付款失败").text
    assert CARD_MASK in redacted and CVV_MASK in redacted
    assert without_masks(redacted) == "卡号 cvv 付款失败"
    assert without_masks("[card number removed]") == ""
    assert without_masks("no masks  here") == "no masks here"
