"""R-PS2: phones, names and e-mails never appear whole in logs."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.logmask import MaskingFilter, mask_email, mask_phone, mask_text, masked_handler
from bot.store.db import make_engine
from bot.store.models import Contact


def test_contract_examples() -> None:
    assert mask_phone("+79161234567") == "+7***567"
    assert mask_email("anna@mail.ru") == "a***@mail.ru"


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


def _service_log(emit: Callable[[logging.Logger], None]) -> str:
    """What the service's log handler writes for the records `emit` logs."""
    stream = io.StringIO()
    logger = logging.getLogger("nudge.test.lines")
    logger.handlers[:] = [masked_handler(logging.StreamHandler(stream))]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        emit(logger)
    finally:
        logger.handlers[:] = []
    return stream.getvalue()


def test_real_log_lines_keep_timestamps_addresses_and_ports() -> None:
    def emit(log: logging.Logger) -> None:
        log.info("NLU server ready at %s (pid %d)", "http://127.0.0.1:5005", 4242)
        log.info(
            "Rasa: 2026-12-03 09:56:38 INFO root - Starting Rasa server on http://0.0.0.0:5005"
        )
        log.info("listening on [::1]:8080 and 10.0.12.7:443; took 12.5 ms, v3.12.14")
        log.info("touch %d to %s at 2026-03-02T09:06:00Z", 17, "+79161234567")

    lines = _service_log(emit).splitlines()
    assert len(lines) == 4
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO nudge\.test\.lines: ", line), (
            line
        )
        assert "***" not in line.split(": ", 1)[0]
    assert "http://127.0.0.1:5005 (pid 4242)" in lines[0]
    assert "2026-12-03 09:56:38 INFO root" in lines[1] and "http://0.0.0.0:5005" in lines[1]
    assert "[::1]:8080 and 10.0.12.7:443; took 12.5 ms, v3.12.14" in lines[2]
    assert lines[3].endswith("touch 17 to +7***567 at 2026-03-02T09:06:00Z")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.ip_addresses(v=4),
    st.integers(min_value=1, max_value=65535),
    st.from_regex(r"\+[1-9]\d{9,13}", fullmatch=True),
)
def test_times_and_addresses_survive_beside_a_phone(
    at: datetime, ip: IPv4Address, port: int, phone: str
) -> None:
    formats = ("%Y-%m-%d %H:%M:%S,%f", "%b %d %Y %H:%M:%S", "%d/%b/%Y:%H:%M:%S +0000")
    for stamp in (str(at), at.isoformat(), *(at.strftime(f) for f in formats)):
        for line in (
            f"{stamp} sent to {phone} via http://{ip}:{port}/x",
            f"{phone} {stamp} {ip}:{port}",
            f"at {stamp} {phone[1:]}",
        ):
            masked = mask_text(line)
            assert stamp in masked and phone[1:] not in masked, (line, masked)
            if str(ip) in line:
                assert f"{ip}:{port}" in masked, (line, masked)


def test_exception_text_and_traceback_are_masked() -> None:
    def fail(phone: str) -> None:
        raise ValueError(f"no contact {phone} (anna.petrova@mail.ru)")

    def emit(log: logging.Logger) -> None:
        try:
            fail("+79161234567")
        except ValueError:
            log.exception("sending failed")

    text = _service_log(emit)
    assert "Traceback" in text and "ValueError: no contact +7***567 (a***@mail.ru)" in text
    assert "79161234567" not in text and "anna.petrova" not in text


async def test_database_errors_hide_their_parameters(db_url: str) -> None:
    engine = make_engine(db_url)
    row = {"shop": "default", "external_id": "c1", "phone": "+79161234567",
           "created_at": datetime(2026, 3, 2, tzinfo=UTC),
           "updated_at": datetime(2026, 3, 2, tzinfo=UTC)}  # fmt: skip
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Contact), [row])
        with pytest.raises(IntegrityError) as failure:
            async with engine.begin() as connection:
                await connection.execute(insert(Contact), [row])
    finally:
        await engine.dispose()
    assert "79161234567" not in str(failure.value)
