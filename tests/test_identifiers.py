"""Identifier checks against published examples and the algorithms' own guarantees."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders.identifiers import (
    KNOWN_LA_CODES,
    check_nhs_number,
    check_postcode,
    check_uln,
    check_upn,
    postcode_district,
)
from synthetic import identifiers as made


@pytest.mark.parametrize("value", ["B801200005001", "b801200005001", "B 8012 0000 5001"])
def test_upn_published_example_passes(value):
    assert check_upn(value).value == "B801200005001"


def test_upn_worked_example_from_school_census_guidance():
    # Suppliers' guidance for census error 1510 works B207000016049 to a sum of 266
    # (mod 23 = 13), which is P in the letter table that skips I, O and S.
    assert not check_upn("B207000016049").ok
    assert check_upn("P207000016049").ok


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("A801200005001", "check letter"),
        ("E000200005001", "not an LA code"),
        ("X80120000A001", "letter, 11 digits"),
        ("B80120000500", "13 characters"),
        ("", "blank"),
        ("I801200005001", "never contain"),
    ],
)
def test_upn_failures_say_why(value, reason):
    result = check_upn(value)
    assert not result.ok and reason in result.reason


def test_upn_accepts_la_codes_created_since_2019():
    for la in ("838", "839", "940", "941", "942", "943"):
        assert la in KNOWN_LA_CODES
        assert check_upn(made.upn(la, "2001", "24", "17")).ok


def test_temporary_upn_is_flagged():
    body = "94020012401"
    from loaders.identifiers import upn_check_letter

    upn = upn_check_letter(body + "A") + body + "A"
    result = check_upn(upn)
    assert result.ok and result.temporary


def test_nhs_number_published_examples():
    assert check_nhs_number("943 476 5919").value == "9434765919"
    assert check_nhs_number("943-476-5870").ok
    assert check_nhs_number(9434765919.0).ok  # as a spreadsheet stores it
    assert not check_nhs_number("9434765871").ok
    assert "placeholder" in check_nhs_number("0000000000").reason
    assert made.nhs_number("943476591") == "9434765919"


def test_uln():
    uln = made.uln("123456789")
    assert uln and check_uln(uln).ok
    assert not check_uln("1234567890").ok
    assert "10 digits" in check_uln("12345").reason


@given(st.integers(100_000_000, 999_999_999), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_mistype_fails_the_check(body, position, delta):
    """What the generator's defect log relies on: a one-digit slip never passes."""
    for make, check in ((made.nhs_number, check_nhs_number), (made.uln, check_uln)):
        good = make(str(body))
        if good is None:
            continue
        digit = (int(good[position]) + delta) % 10
        bad = good[:position] + str(digit) + good[position + 1 :]
        assert check(good).ok and not check(bad).ok


def test_upn_single_digit_mistype_fails():
    rng = random.Random(3)
    for _ in range(2000):
        good = made.upn("940", f"{rng.randint(0, 9999):04d}", "21", f"{rng.randint(0, 999):03d}")
        i = rng.randint(1, 12)
        bad = good[:i] + str((int(good[i]) + rng.randint(1, 9)) % 10) + good[i + 1 :]
        assert check_upn(good).ok and not check_upn(bad).ok


@pytest.mark.parametrize("value", ["NM1 2AB", "nm12ab", "EC1A 1BB", "W1A 0AX", "M1 1AE"])
def test_postcodes(value):
    assert check_postcode(value).ok


@pytest.mark.parametrize("value", ["NM1", "12345", "NM1 2AI!", "ZZZZ 999"])
def test_bad_postcodes(value):
    assert not check_postcode(value).ok
    assert postcode_district(value) == ""


def test_postcode_district():
    assert postcode_district("ec1a1bb") == "EC1A"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_synthetic_county_identifiers_agree_with_the_loaders_checks(nine):
    """The county makes its identifiers from the specifications on its own
    (``synthetic.identifiers``); the loaders' checks must accept exactly those."""
    nhs, uln = made.nhs_number(nine), made.uln(nine)
    if nhs is not None:
        assert check_nhs_number(nhs).ok
    if uln is not None:
        assert check_uln(uln).ok
    upn = made.upn("940", nine[:4], nine[4:6], nine[6:])
    assert check_upn(upn).ok


@pytest.mark.parametrize(
    ("check", "value", "reason"),
    [
        # U+0663 is a digit to str.isdigit but not to any identifier's arithmetic
        (check_upn, "A001\u066312345670", "UPN must be a letter, 11 digits, then a digit or"),
        (check_nhs_number, "94347659\u06639", "NHS number must be 10 digits"),
        (check_uln, "123456789\u0663", "ULN must be 10 digits"),
    ],
)
def test_other_scripts_digits_are_refused_with_a_reason(check, value, reason):
    """One such cell raised out of the reader and stopped the whole load (UPN)."""
    result = check(value)
    assert not result.ok
    assert result.reason.startswith(reason)
