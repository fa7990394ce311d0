"""benchmarks.build_scope: who turned 18 between two nights' days (a scoped build's
people whose rows the day alone changes)."""

import datetime as dt

import pytest

from benchmarks.build_scope import _adult_since

LAST, TODAY = dt.date(2026, 11, 9), dt.date(2026, 11, 16)


@pytest.mark.parametrize(
    ("dob", "last", "today", "expected"),
    [
        (dt.date(2008, 11, 16), LAST, TODAY, True),  # 18 on the night's day itself
        (dt.date(2008, 11, 10), LAST, TODAY, True),  # the day after the last night's
        (dt.date(2008, 11, 9), LAST, TODAY, False),  # already 18 on the last night's day
        (dt.date(2008, 11, 17), LAST, TODAY, False),  # 18 tomorrow
        (dt.date(2010, 11, 12), LAST, TODAY, False),  # 16 this week
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), dt.date(2026, 3, 1), True),  # leap day
        (dt.date(2008, 2, 29), dt.date(2026, 2, 27), dt.date(2026, 2, 28), False),
    ],
)
def test_turned_18_between_the_nights(
    dob: dt.date, last: dt.date, today: dt.date, expected: bool
) -> None:
    assert _adult_since(dob, last, today) is expected
