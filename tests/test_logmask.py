"""R-PS2: phones, names and e-mails never appear whole in logs."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.logmask import MaskingFilter, mask_email, mask_name, mask_phone, mask_text


def test_contract_examples() -> None:
    assert mask_phone("+79161234567") == "+7***567"
    assert mask_email("anna@mail.ru") == "a***@mail.ru"
    assert mask_name("Anna") == "A***"


@given(st.from_regex(r"\+[1-9]\d{9,13}", fullmatch=True))
def test_no_phone_survives_in_free_text(phone: str) -> None:
    masked = mask_text(f"sent to {phone} ok")
    assert phone not in masked
    assert phone[-3:] in masked  # enough left to tell two numbers apart


def test_free_text_masks_emails_and_secrets() -> None:
    line = "login ivan.petrov@example.com token=abcdef123 phone 8 (916) 123-45-67"
    masked = mask_text(line)
    assert "ivan.petrov" not in masked and "i***@example.com" in masked
    assert "abcdef123" not in masked
    assert "123-45-67" not in masked


def test_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("nudge.test.mask")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="nudge.test.mask"):
        logger.info("message from %s (%s)", "+48601234567", "kasia@wp.pl")
    assert "+48601234567" not in caplog.text and "kasia@wp.pl" not in caplog.text
    assert "+4***567" in caplog.text
