"""Identifiers for the synthetic county, made from the published specifications.

Written apart from ``loaders.identifiers`` on purpose: the loaders' checks are what
the tests examine, so the county must not borrow them. A bug in one then shows up as
a disagreement with the other instead of hiding in both.

- UPN (DfE "Unique pupil numbers" guidance): a check letter, then the LA code (3),
  the establishment number (4), the 2-digit year of allocation and a 3-digit serial.
  The check letter is the sum of each of the 12 digits times its position (2..13),
  modulus 23, as a letter of ``ABCDEFGHJKLMNPQRTUVWXYZ``.
- NHS number (NHS Data Dictionary): nine digits weighted 10..2, the check digit is
  11 minus the sum modulus 11 (11 becomes 0; 10 means the body has no NHS number).
- ULN (Learning Records Service): nine digits weighted 10..2 plus the check digit
  weighted 1 must come to 10 modulus 11; a ULN never starts with 0.
"""

from __future__ import annotations

UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(la: str, establishment: str, year: str, serial: str) -> str:
    """A permanent UPN from its parts."""
    body = f"{la:0>3}{establishment:0>4}{year:0>2}{serial:0>3}"
    if len(body) != 12 or not body.isdigit():
        raise ValueError(f"UPN parts must make 12 digits, got {body!r}")
    total = sum(int(digit) * weight for weight, digit in enumerate(body, start=2))
    return UPN_CHECK_LETTERS[total % 23] + body


def nhs_number(nine: str) -> str | None:
    """The NHS number with these first nine digits, or None where none exists."""
    total = sum(int(digit) * weight for digit, weight in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    number = nine + str(0 if check == 11 else check)
    return None if len(set(number)) == 1 else number


def uln(nine: str) -> str | None:
    """The ULN with these first nine digits, or None where none exists."""
    if nine[0] == "0":
        return None
    total = sum(int(digit) * weight for digit, weight in zip(nine, range(10, 1, -1), strict=True))
    check = (10 - total) % 11
    return None if check == 10 else nine + str(check)
