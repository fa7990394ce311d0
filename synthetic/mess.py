"""Realistic defects, injected on purpose and every one of them recorded.

Each extract writer asks this module for a field's value as its system would hold
it. Whatever is changed is logged as a :class:`Defect` against the row, so the
ground truth says exactly what is wrong with every row and why.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from synthetic import names as nm

DIGITS = "0123456789"


@dataclass(frozen=True)
class Defect:
    field: str
    kind: str
    true_value: str
    written_value: str


@dataclass(frozen=True)
class SourceMess:
    """Per-source defect rates (chance per row, or per eligible value)."""

    nickname: float = 0.0
    typo: float = 0.0
    ascii_only: bool = False
    swapped_day_month: float = 0.0
    impossible_date: float = 0.0
    future_date: float = 0.0
    blank_required: float = 0.0
    missing_id: float = 0.0
    invalid_check_digit: float = 0.0
    stale_address: float = 0.0
    duplicate_row: float = 0.0
    names_swapped: float = 0.0
    upper_surname: bool = False


class Mess:
    def __init__(self, rng: random.Random, as_of: dt.date) -> None:
        self.rng = rng
        self.as_of = as_of

    def _hit(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    # -- names -----------------------------------------------------------------

    def given(self, value: str, field: str, mess: SourceMess, log: list[Defect]) -> str:
        written = value
        if self._hit(mess.nickname):
            nick = nm.nickname(value, self.rng)
            if nick:
                written = nick
                log.append(Defect(field, "nickname", value, written))
        written = self._name_common(written, field, mess, log, value)
        return written

    def surname(self, value: str, field: str, mess: SourceMess, log: list[Defect]) -> str:
        written = self._name_common(value, field, mess, log, value)
        if mess.upper_surname:
            written = written.upper()
        return written

    def _name_common(
        self, written: str, field: str, mess: SourceMess, log: list[Defect], true: str
    ) -> str:
        if self._hit(mess.typo):
            before = written
            written = nm.typo(written, self.rng)
            if written != before:
                log.append(Defect(field, "typo", true, written))
        if mess.ascii_only and nm.has_diacritics(written):
            before = written
            written = nm.strip_diacritics(written)
            log.append(Defect(field, "diacritics_stripped", true, written))
        return written

    def blank(self, value: str, field: str, mess: SourceMess, log: list[Defect]) -> str:
        """A required field left empty."""
        if self._hit(mess.blank_required):
            log.append(Defect(field, "blank_required", value, ""))
            return ""
        return value

    # -- dates -------------------------------------------------------------------

    def date(
        self,
        value: dt.date | None,
        field: str,
        fmt: str,
        mess: SourceMess,
        log: list[Defect],
        *,
        is_birth: bool = False,
    ) -> str:
        if value is None:
            return ""
        true_text = value.strftime(fmt)
        if is_birth and self._hit(mess.blank_required):
            log.append(Defect(field, "blank_required", true_text, ""))
            return ""
        if value.day <= 12 and value.day != value.month and self._hit(mess.swapped_day_month):
            swapped = dt.date(value.year, value.day, value.month)
            written = swapped.strftime(fmt)
            log.append(Defect(field, "swapped_day_month", true_text, written))
            return written
        if is_birth and self._hit(mess.future_date):
            future = self.as_of + dt.timedelta(days=self.rng.randint(30, 900))
            written = future.strftime(fmt)
            log.append(Defect(field, "future_date", true_text, written))
            return written
        if self._hit(mess.impossible_date):
            written = _impossible(value, fmt, self.rng)
            log.append(Defect(field, "impossible_date", true_text, written))
            return written
        return true_text

    # -- identifiers -------------------------------------------------------------

    def identifier(
        self,
        value: str | None,
        field: str,
        mess: SourceMess,
        log: list[Defect],
        *,
        missing: float | None = None,
    ) -> str:
        """Blank it, or mistype one character so its check fails; log either."""
        if not value:
            return ""
        if self._hit(mess.missing_id if missing is None else missing):
            log.append(Defect(field, "missing_id", value, ""))
            return ""
        if self._hit(mess.invalid_check_digit):
            written = self._mistype(value)
            log.append(Defect(field, "invalid_check_digit", value, written))
            return written
        return value

    def _mistype(self, value: str) -> str:
        """Change one digit (not the check character) to another digit.

        Check digits and letters catch every single-digit error, so the mistyped
        value always fails its check - which is what the recorded defect claims.
        """
        positions = [i for i, ch in enumerate(value) if ch in DIGITS]
        # UPN: keep the check letter; NHS number / ULN: the last digit is the check
        positions = [i for i in positions if i > 0] if value[0].isalpha() else positions[:-1]
        i = self.rng.choice(positions)
        new = self.rng.choice(DIGITS.replace(value[i], ""))
        return value[:i] + new + value[i + 1 :]


def _impossible(value: dt.date, fmt: str, rng: random.Random) -> str:
    """A date that cannot exist, written in the field's own format."""
    choices = ((31, 2), (30, 2), (31, 4), (31, 6), (31, 9), (31, 11), (0, 5), (15, 13))
    if "%b" in fmt:  # month names: only day/month pairs that cannot exist
        choices = ((31, 2), (30, 2), (31, 4), (31, 6), (31, 9), (31, 11))
    day, month = rng.choice(choices)
    month_names = {2: "Feb", 4: "Apr", 6: "Jun", 9: "Sep", 11: "Nov"}
    text = fmt.replace("%Y", f"{value.year:04d}").replace("%y", f"{value.year % 100:02d}")
    text = text.replace("%m", f"{month:02d}").replace("%d", f"{day:02d}")
    text = text.replace("%b", month_names.get(month, "Feb"))
    return text
