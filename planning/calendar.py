"""The school calendar: academic years (1 September to 31 August), year groups and
the nominal first day of each term, for the loader and for planning alike."""

from __future__ import annotations

import datetime as dt

# Nominal first days of each term (DfE attendance terms): years after the academic
# year's start, month, day.
TERM_START = {"Autumn": (0, 9, 1), "Spring": (1, 1, 1), "Summer": (1, 4, 15)}


def academic_year(day: dt.date) -> int:
    """The calendar year the academic year holding ``day`` started in."""
    return day.year if day.month >= 9 else day.year - 1


def year_group(dob: dt.date, today: dt.date) -> int:
    """National curriculum year on ``today`` of a child born on ``dob`` (Reception 0)."""
    return academic_year(today) - academic_year(dob) - 5


def next_september(day: dt.date) -> dt.date:
    """The 1 September that starts the academic year after the one holding ``day``."""
    return dt.date(academic_year(day) + 1, 9, 1)


def term_start(year: int, term: str) -> dt.date:
    """The nominal first day of ``term`` (Autumn, Spring, Summer) of the academic year
    that started in ``year``."""
    add_years, month, day = TERM_START[term]
    return dt.date(year + add_years, month, day)
