"""E.164 checks: the fast path of is_e164 gives phonenumbers' answer for every country code."""

from __future__ import annotations

import random

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from bot.phones import _verdict_unparsed, is_e164, is_e164_parsed


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def test_e164_accepts_the_canonical_form_only() -> None:
    for phone in ("+79161234567", "+12125550123", "+48601234567", "+390612345678"):
        assert is_e164(phone), phone
    for phone in (
        "",
        "+",
        "79161234567",
        "89161234567",
        "+7 916 123 45 67",
        "+7(916)123-45-67",
        "+79161234567 ",
        "++79161234567",
        "+٧٩١٦١٢٣٤٥٦٧",
        "+07916123456",
        "+7916",
        "+791612345678901234",
        "tel:+79161234567",
    ):
        assert not is_e164(phone), phone


def test_e164_is_phonenumbers_answer_for_every_country_code() -> None:
    rng = random.Random(164)
    samples = [
        f"+{code}{lead}{_digits(rng, length)}"
        for code in COUNTRY_CODE_TO_REGION_CODE
        for length in range(19)
        for lead in "0123456789"
    ]
    samples += [f"+{_digits(rng, rng.randint(0, 20))}" for _ in range(5000)]
    differing = [phone for phone in samples if is_e164(phone) != is_e164_parsed(phone)]
    assert differing == []
    assert sum(map(is_e164, samples)) > 5000  # both answers occur, not only False


def test_common_numbers_take_the_fast_path() -> None:
    for phone in ("+79161234567", "+12125550123", "+48601234567", "+8613812345678"):
        assert _verdict_unparsed(phone) is True, phone
    for phone in ("+791612345678", "+1212555012"):  # a digit too many, a digit too few
        assert _verdict_unparsed(phone) is False, phone
