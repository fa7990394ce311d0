"""Which people's rows a delta carries over rather than builds (loaders.partial)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from loaders.partial import signatures, turned, unchanged_people
from loaders.unchanged import PERSON, _node_hashes
from loaders.validate import Record

DAY, WEEK = dt.date(2026, 12, 6), dt.date(2026, 12, 13)


def test_a_flag_turns_on_an_18th_birthday_between_the_two_days_only() -> None:
    """Ground truth: the calendar (18 years after the birth date; 29 February's 18th
    birthday is 1 March in a year without one)."""
    assert turned("2008-12-10", DAY, WEEK)  # 18 within the week
    assert turned("2008-12-13", DAY, WEEK)  # 18 on the load's day itself
    assert not turned("2008-12-06", DAY, WEEK)  # 18 on the last load's day: an adult then
    assert not turned("2008-12-14", DAY, WEEK)  # 18 the day after
    assert not turned("1990-01-01", DAY, WEEK) and not turned(None, DAY, WEEK)
    assert turned("2008-12-10", WEEK, DAY)  # a load of an earlier day: the other way
    assert not turned("2008-02-29", dt.date(2026, 2, 27), dt.date(2026, 2, 28))
    assert turned("2008-02-29", dt.date(2026, 2, 28), dt.date(2026, 3, 1))


def _records(people: dict[str, list[dict]]) -> dict[str, list[tuple[Record, str]]]:
    return {
        uid: [
            (Record(f"R-{uid}-{i}", "s", "f.csv", i + 2, "person", values), "person")
            for i, values in enumerate(rows)
        ]
        for uid, rows in people.items()
    }


def test_only_the_people_whose_records_cases_and_flag_are_as_they_were_are_carried() -> None:
    """Five people signed on the last load's day, loaded again a week later: the one
    whose record holds a date within the week (same uid: a two-digit year read on
    another day), the one with a case now, the one who had one, the one who turned 18
    and the one the last load did not know are built; the rest carried, with their
    birth dates. Records reordered, a load of an earlier day or other code: none."""
    first = {
        "P-same": [{"person.dob": dt.date(2012, 1, 1)}, {"person.sex": "F"}],
        "P-value": [{"person.dob": dt.date(1926, 12, 10)}],
        "P-case": [{"person.dob": dt.date(2013, 5, 5)}],
        "P-had": [{"person.dob": dt.date(2014, 5, 5)}],
        "P-18": [{"person.dob": dt.date(2008, 12, 10)}],
    }
    now = {**first, "P-value": [{"person.dob": dt.date(2026, 12, 10)}], "P-new": [{}]}
    before = signatures(_records(first), DAY, "code")
    after = signatures(_records(now), WEEK, "code")
    dob = {uid: ("", "", str(rows[0].get("person.dob", ""))) for uid, rows in first.items()}
    had = np.unique(_node_hashes(PERSON, ["P-had"]))
    carried = unchanged_people(after, before, _records(now), {"P-case"}, had, dob, 2)
    assert carried == {"P-same": "2012-01-01"}
    reordered = {"P-same": _records(first)["P-same"][::-1]}  # the same records, reordered
    again = signatures(reordered, WEEK, "code")
    assert unchanged_people(again, before, reordered, set(), had, dob, 2) == {}
    other = signatures(_records(now), WEEK, "other code")
    assert unchanged_people(other, before, _records(now), set(), had, dob, 2) == {}
    assert unchanged_people(after, None, _records(now), set(), had, dob, 2) == {}
    earlier = signatures(_records(now), DAY - dt.timedelta(days=1), "code")
    assert unchanged_people(earlier, before, _records(now), set(), had, dob, 2) == {}
