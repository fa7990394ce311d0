"""Each pupil's risk of NEET answer on every day of an academic year, worked out once.

A pupil's answer (on roll or not, year group, school, attendance, factors) changes only
on days one of their records enters or leaves a window: a term, an exclusion, a school
joined or left, a case opened or its youth justice window ending, a home moved into,
each 1 September and 1 January. So the answer is worked out on those days alone and
kept as the days it changes on with the answer from each (``RiskYear``); the list as
at any day of the year is then a read. What the answer is mirrors the saved query
``risk_of_neet``'s worked-out part, clause for clause; a test holds the two equal on
many days of a real graph, and the kept answers are used only under the detection
rules (thresholds, windows, the query's text) they were worked out with.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planning.calendar import year_group
from planning.risk import RiskConfig

ON_ROLL = ("Primary", "Secondary", "Special", "Alternative provision")
MOVE_DAYS = 92  # a move counts when the deprived home follows a departure within this
NO_TEXT, NO_ATTENDANCE = "", -1.0  # what a kept list holds for none (lists hold no nulls)
# what leads each of a pupil's edges (graph.risk_facts.PUPILS): 0 ATTENDS, 1 ATTENDANCE,
# 2 EXCLUDED, 3 HAS_CASE, 4 LIVES_AT, 5 PARENT_OF
EDGES = ("ATTENDS", "ATTENDANCE", "EXCLUDED", "HAS_CASE", "LIVES_AT", "PARENT_OF")


@dataclass(frozen=True)
class Answer:
    """A pupil's row of the list on one day (before weights): school, attendance, factors."""

    school: str | None
    school_urn: str | None
    attendance_pct: float | None
    factors: tuple[str, ...]


def cohort_year_group(dob: dt.date, ay: int) -> int | None:
    """The pupil's year group in academic year ``ay`` when it is one the query reads
    (Years 8 to 11), else None."""
    group = year_group(dob, dt.date(ay, 9, 1))
    return group if 8 <= group <= 11 else None


def born_between(years: Sequence[int]) -> tuple[dt.date, dt.date]:
    """The birth dates of every pupil who is in the cohort in one of ``years``."""
    return dt.date(min(years) - 16, 9, 1), dt.date(max(years) - 12, 9, 1)


def _round(value: float) -> float:
    """``round(value * 1000) / 10.0`` as Cypher rounds (a half up, not to even)."""
    scaled = value * 1000
    whole = math.floor(scaled)
    return float(whole + 1 if scaled - whole >= 0.5 else whole) / 10.0


def _windows(config: RiskConfig) -> tuple[int, int]:
    """What :meth:`Pupil.changes` reads of the rules: its windows, in days (the key its
    result is kept under)."""
    return config.window_days, config.youth_justice_window_days


class Pupil:
    """One child's records as the query reads them (graph.risk_facts.PUPILS)."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.uid: str = row["uid"]
        self.dob: dt.date = row["dob"]
        kinds: tuple[list[tuple], ...] = ([], [], [], [], [], [])  # by EDGES, in the walk's order
        for edge in row["edges"]:
            kinds[edge[0]].append(tuple(edge[1:]))
        attends, terms, exclusions, cases, homes, parent_of = kinds
        self.constant = (row["young_carer"], row["fsm"], row["eal"], bool(parent_of))
        self.attends = attends  # school uid, name, phase, from, to
        self.terms = [a for a in terms if a[1] is not None]  # school uid, start, possible, absent
        self.exclusions = [e for e in exclusions if e[0] is not None]  # date, kind
        self.cases = cases  # kind, status, start, end
        self.homes = homes  # from, to, imd decile, postcode district
        # earlier schools: on a roll from, or in a return for a term starting
        self.spells = [(a[0], a[3]) for a in self.attends if a[3] is not None] + [
            (t[0], t[1]) for t in self.terms if t[0] is not None
        ]
        self.area = next((h[3] for h in self.homes if h[1] is None and h[3] is not None), None)
        # the schools whose roll counts, and every day the answer may change on (once a
        # pupil, for the windows they were worked out with, rather than once a year)
        self.rolls = [a for a in self.attends if a[3] is not None and a[2] in ON_ROLL]
        self._changes: tuple[tuple[int, int], set[dt.date]] | None = None

    def changes(self, config: RiskConfig) -> set[dt.date]:
        """Every day the answer may change on: a record entering or leaving a window."""
        window, yj_window = (dt.timedelta(days=d) for d in _windows(config))
        days: set[dt.date] = set()
        for _, _, _, start, end in self.attends:
            days.update(d for d in (start, end) if d is not None)
            if start is not None:
                days.add(start + window)
        for day in [t[1] for t in self.terms] + [e[0] for e in self.exclusions]:
            days.update((day, day + window))
        for _, _, start, end in self.cases:
            if start is not None:
                days.add(start)
            if end is not None:
                days.add(end + yj_window)
        for start, _, _, _ in self.homes:
            if start is not None:
                days.update((start, start + window))
        return days

    def answer(self, today: dt.date, config: RiskConfig) -> Answer | None:
        """The query's worked-out row for this pupil as at ``today`` (None: not on a
        school roll); the year group is the caller's."""
        schools: dict[str, tuple[str | None, str | None]] = {}
        for uid, name, phase, start, end in self.rolls:
            if start <= today and (end is None or end > today):
                schools.setdefault(uid, (name, phase))
        if not schools:
            return None
        since = today - dt.timedelta(days=config.window_days)
        yj_since = today - dt.timedelta(days=config.youth_justice_window_days)
        joins = [(a[0], a[3]) for a in self.attends if a[3] is not None and since < a[3] <= today]
        if joins:
            intake = [(dt.date(y, 8, 1), dt.date(y, 10, 1)) for y in (today.year - 1, today.year)]
            joins = [n for n in joins if not any(lo <= n[1] < hi for lo, hi in intake)]
        changed = any(e[0] != n[0] and e[1] < n[1] for n in joins for e in self.spells)
        possible = absent = 0
        for _, start, pos, absn in self.terms:
            if since < start <= today:
                possible += pos or 0
                absent += absn or 0
        attendance = (possible - absent) / possible if possible > 0 else None
        recent = [e for e in self.exclusions if since < e[0] <= today]
        kinds = {
            kind
            for kind, status, start, end in self.cases
            if (status == "open" and (start is None or start <= today))
            or (
                kind == "YJ"
                and start is not None
                and start <= today
                and (end is None or end > yj_since)
            )
        }
        young_carer, fsm, eal, parent = self.constant
        deprived = config.deprived_decile
        arrivals = [
            h[0]
            for h in self.homes
            if h[0] is not None and since < h[0] <= today and h[2] is not None and h[2] <= deprived
        ]
        departures = [
            h[1]
            for h in (self.homes if arrivals else ())
            if h[1] is not None and h[2] is not None and h[2] > deprived
        ]
        moved = any(
            n >= o and o + dt.timedelta(days=MOVE_DAYS) > n for n in arrivals for o in departures
        )
        low, severe = config.attendance.low, config.attendance.severe
        found = [
            "attendance_below_85"
            if attendance is not None and attendance < severe
            else "attendance_below_90"
            if attendance is not None and attendance < low
            else None,
            "permanent_exclusion"
            if any(e[1] == "PERM" for e in recent)
            else "suspension"
            if recent
            else None,
            "ehc_plan" if "EHCP" in kinds else "sen_support" if "SEN support" in kinds else None,
            "looked_after" if "CLA" in kinds else None,
            "young_carer" if young_carer else None,
            "free_school_meals" if fsm else None,
            "eal" if eal else None,
            "youth_justice" if "YJ" in kinds else None,
            "alternative_provision"
            if any(p == "Alternative provision" for _, p in schools.values())
            else None,
            "teenage_parent" if parent else None,
            "moved_into_deprived_area" if moved else None,
            "school_change_mid_year" if changed else None,
        ]
        first = next(iter(schools))
        return Answer(
            schools[first][0],
            first,
            None if attendance is None else _round(attendance),
            tuple(f for f in found if f is not None),
        )

    def timeline(self, ay: int, config: RiskConfig) -> tuple[list[dt.date], list[Answer | None]]:
        """The pupil's answer from each day of academic year ``ay`` it may change on
        (1 September first): on any day of the year, the answer from the last of those
        days up to it."""
        first, last = dt.date(ay, 9, 1), dt.date(ay + 1, 8, 31)
        windows = _windows(config)  # all changes() reads of the config
        if self._changes is None or self._changes[0] != windows:
            self._changes = (windows, self.changes(config))
        days = {first, dt.date(ay + 1, 1, 1)} | {d for d in self._changes[1] if first < d <= last}
        ordered = sorted(days)
        return ordered, [self.answer(day, config) for day in ordered]

    def year(
        self,
        ay: int,
        config: RiskConfig,
        timeline: tuple[list[dt.date], list[Answer | None]] | None = None,
    ) -> dict[str, Any] | None:
        """The pupil's ``RiskYear`` for academic year ``ay``: the days their answer
        changes on and the answer from each; None when they have no factor on any day
        of it (or are not in the list's year groups). ``timeline``: :meth:`timeline`'s
        for ``ay``, when worked out already."""
        group = cohort_year_group(self.dob, ay)
        if group is None or group not in config.year_groups:
            return None
        starts: list[int] = []
        answers: list[Answer | None] = []
        for day, answer in zip(*(timeline or self.timeline(ay, config)), strict=True):
            if answer is not None and not answer.factors:
                answer = None  # on roll with no factor: never on the list
            if answers and answers[-1] == answer:
                continue
            if not answers and answer is None:
                continue  # nothing yet: days before the first start read as none
            starts.append(day_number(day))
            answers.append(answer)
        if not answers:
            return None
        return {
            "person": self.uid,
            "ay": ay,
            "year_group": group,
            "area": self.area if self.area is not None else NO_TEXT,
            "starts": starts,
            "schools": [_text(a and a.school) for a in answers],
            "school_urns": [_text(a and a.school_urn) for a in answers],
            "attendance": [
                NO_ATTENDANCE if a is None or a.attendance_pct is None else a.attendance_pct
                for a in answers
            ],
            "factors": [",".join(a.factors) if a else NO_TEXT for a in answers],
        }


def day_number(day: dt.date) -> int:
    """A day as the kept lists hold it (yyyymmdd)."""
    return day.year * 10_000 + day.month * 100 + day.day


def _text(value: str | None) -> str:
    return NO_TEXT if value is None else value


def pupils(rows: Iterable[Mapping[str, Any]]) -> list[Pupil]:
    """The children read (graph.risk_facts.pupils) who have a birth date."""
    return [Pupil(row) for row in rows if row["dob"] is not None]
