"""benchmarks.build_scope: who turned 18 between two nights' days (a scoped build's
people whose rows the day alone changes), and what a night changed and a scope's build
would miss, the elements gone since the last night among them."""

import datetime as dt

import pytest

from benchmarks.build_scope import _adult_since, changes, compared

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


# Hand-built elements of two nights and a scope's build: P1 in the scope, P2 outside it.
P1_HOME = {"person": "P1", "address": "A1"}
P2_HOME = {"person": "P2", "address": "A2"}
FAMILY = {"uid": "F1", "size": 2}


def test_a_gone_element_is_a_change() -> None:
    was = {"lives_at": {("P1", "A1"): [P1_HOME], ("P2", "A2"): [P2_HOME]}}
    now = {"lives_at": {("P1", "A1"): [P1_HOME | {"from": "2026-11-10"}]}}
    assert changes(was, now) == {"lives_at": [("P1", "A1"), ("P2", "A2")]}


def test_the_scope_must_drop_what_is_gone() -> None:
    was = {
        "lives_at": {("P1", "A1"): [P1_HOME], ("P2", "A2"): [P2_HOME]},
        "families": {"F1": [FAMILY], "F2": [FAMILY | {"uid": "F2"}]},
    }
    now = {"lives_at": {}, "families": {"F1": [FAMILY | {"size": 3}]}}
    # P1's residence gone and not built: sound; P2's gone and outside the scope: missed;
    # F2 gone (naming nobody): missed; F1 changed and not built: missed
    c = compared(was, now, {"lives_at": {}, "families": {}}, {"P1"}, {})
    assert (c["gone"], c["gone_inside"], c["gone_built"]) == (3, 1, 0)
    assert (c["gone_others"], c["gone_nobody"], c["nobody_missed"]) == (1, 1, 1)
    # the scope building P1's gone residence again: wrong
    c = compared(was, now, {"lives_at": {("P1", "A1"): [P1_HOME]}, "families": {}}, {"P1"}, {})
    assert (c["gone_built"], c["extra"]) == (1, 1)
