"""Checks for the identifiers that tie a child's records together.

A wrong identifier is worse than a missing one: it links two children's records.
So every identifier is checked by its official algorithm before it is trusted for
matching, and a failed check says why in words a data officer can act on.

- UPN (Unique Pupil Number): DfE modulus-23 check letter; characters 2-4 must be a
  recognised LA code. python-stdnum computes the check letter, but its LA list stops
  before the 2019-2023 reorganisations (Dorset, BCP, Northamptonshire, Cumbria) and
  leaves out Welsh and pseudo-LA codes that appear as "former UPN"s, so the LA list
  here is our own (see `KNOWN_LA_CODES`).
- NHS number: modulus 11 (python-stdnum's `gb.nhs`, whose rules are current).
- ULN (Unique Learner Number): modulus 11 with weights 10..2; python-stdnum has no
  ULN, so it is computed here.
- Postcode: the Royal Mail format, normalised to "AA9A 9AA" spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import mul

from stdnum.gb import upn as _upn


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The outcome of a check: the normalised value when it passed, else a reason."""

    ok: bool
    value: str = ""
    reason: str = ""
    temporary: bool = False


def _ranges(*spans: tuple[int, int] | int) -> frozenset[str]:
    codes: set[str] = set()
    for span in spans:
        low, high = span if isinstance(span, tuple) else (span, span)
        codes.update(f"{n:03d}" for n in range(low, high + 1))
    return frozenset(codes)


# DfE school census validation rule 1530 ("a valid post-April 1999 LA code or a
# recognised pseudo-LA code"), plus the codes created since: 838 Dorset and 839
# Bournemouth, Christchurch & Poole (2019), 940 North and 941 West Northamptonshire
# (2021), 942 Cumberland and 943 Westmorland & Furness (2023). Codes retired by those
# changes (835-837, 909, 928) stay valid: a UPN is for life.
KNOWN_LA_CODES: frozenset[str] = _ranges(
    (1, 5),
    (201, 213),
    (301, 320),
    (330, 336),
    (340, 344),
    (350, 359),
    (370, 373),
    (380, 384),
    (390, 394),
    420,
    (660, 681),
    (701, 708),
    (800, 803),
    (805, 808),
    (810, 813),
    815,
    816,
    (820, 823),
    825,
    826,
    830,
    831,
    (835, 841),
    845,
    846,
    (850, 852),
    (855, 857),
    860,
    861,
    (865, 896),
    908,
    909,
    916,
    919,
    921,
    925,
    926,
    928,
    929,
    931,
    933,
    (935, 938),
    (940, 943),
)

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never used
_SEPARATORS = re.compile(r"[\s\-.]")


def _digits(text: str) -> bool:
    """Only the digits 0-9: ``str.isdigit`` also takes other scripts' digits, which no
    identifier's check arithmetic (nor python-stdnum's) knows."""
    return text.isascii() and text.isdigit()


def _clean(value: object) -> str:
    """Spreadsheets turn identifiers into floats ("4505577104.0"); undo that."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not value.is_integer():  # NaN, infinity or a fraction: not an id
            return str(value)
        value = int(value)
    text = _SEPARATORS.sub("", str(value)).upper()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text


# -- UPN -------------------------------------------------------------------------


# python-stdnum's arithmetic, without its per-character list search: each character's
# value is its place in the alphabet of the UPN's letters, then the digits
_UPN_VALUES = {ch: i for i, ch in enumerate(_UPN_LETTERS + "0123456789")}


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (modulus 23, weights 2..13)."""
    chars = ("X" + body)[-12:]
    try:
        total = sum(map(mul, map(_UPN_VALUES.__getitem__, chars), range(2, 14)))
    except KeyError:  # a character stdnum does not know: its own error
        return _upn.calc_check_digit("X" + body)
    return _UPN_LETTERS[total % 23]


def check_upn(value: object) -> IdCheck:
    text = _clean(value)
    if not text:
        return IdCheck(False, reason="UPN is blank")
    if len(text) != 13:
        return IdCheck(False, reason=f"UPN must be 13 characters, not {len(text)}")
    temporary = text[12].isalpha()
    if not (text[0].isalpha() and _digits(text[1:12]) and (temporary or _digits(text[12]))):
        return IdCheck(False, reason="UPN must be a letter, 11 digits, then a digit or letter")
    if text[0] not in _UPN_LETTERS or (temporary and text[12] not in _UPN_LETTERS):
        return IdCheck(False, reason="UPN uses a letter (I, O or S) that UPNs never contain")
    if text[1:4] not in KNOWN_LA_CODES:
        return IdCheck(False, reason=f"UPN characters 2-4 ({text[1:4]}) are not an LA code")
    if upn_check_letter(text[1:]) != text[0]:
        return IdCheck(False, reason="UPN check letter does not match (mistyped digit?)")
    return IdCheck(True, value=text, temporary=temporary)


# -- NHS number ------------------------------------------------------------------


def check_nhs_number(value: object) -> IdCheck:
    text = _clean(value)
    if not text:
        return IdCheck(False, reason="NHS number is blank")
    if not _digits(text) or len(text) != 10:
        return IdCheck(False, reason="NHS number must be 10 digits")
    if len(set(text)) == 1:
        return IdCheck(False, reason="NHS number is a placeholder (all one digit)")
    if not _nhs_valid(text):
        return IdCheck(False, reason="NHS number fails its modulus 11 check (mistyped digit?)")
    return IdCheck(True, value=text)


def _nhs_valid(digits: str) -> bool:
    """python-stdnum's modulus 11 (weights 10..1, the check digit's 1) on ten digits."""
    return sum(map(mul, map(int, digits), range(10, 0, -1))) % 11 == 0


# -- ULN -------------------------------------------------------------------------


def _uln_check_digit(nine: str) -> int:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    return (10 - total % 11) % 11  # 10 means "no ULN has this body"


def check_uln(value: object) -> IdCheck:
    text = _clean(value)
    if not text:
        return IdCheck(False, reason="ULN is blank")
    if not _digits(text) or len(text) != 10:
        return IdCheck(False, reason="ULN must be 10 digits")
    if text[0] == "0":
        return IdCheck(False, reason="ULN cannot start with 0")
    if _uln_check_digit(text[:9]) != int(text[9]):
        return IdCheck(False, reason="ULN fails its modulus 11 check (mistyped digit?)")
    return IdCheck(True, value=text)


# -- postcode --------------------------------------------------------------------

_POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[ABD-HJLNP-UW-Z]{2})$")


def check_postcode(value: object) -> IdCheck:
    text = re.sub(r"\s+", "", str(value or "")).upper()
    if not text:
        return IdCheck(False, reason="postcode is blank")
    match = _POSTCODE.match(text)
    if not match:
        return IdCheck(False, reason=f"{str(value).strip()!r} is not a UK postcode")
    return IdCheck(True, value=f"{match.group(1)} {match.group(2)}")


def postcode_district(value: object) -> str:
    """The outward code ("NM4") of a valid postcode, else ''."""
    result = check_postcode(value)
    return result.value.split(" ")[0] if result.ok else ""
